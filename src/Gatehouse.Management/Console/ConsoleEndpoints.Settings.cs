using System.Globalization;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Console;

// The portal's and the console's shared settings on one page, each turned on and off with a button: the same store
// settings that PUT /admin/portal/settings and /admin/console/settings change, so an operator need not reach for curl.
internal static partial class ConsoleEndpoints
{
    // The portal's switches (PortalSwitches, which the admin API lists too), then the console's own, in the page's order.
    private static readonly (string Name, string Setting, bool Default, string What)[] Switches =
    [
        .. PortalSwitches.All.Select(s => s with { What = "Portal: " + s.What }),
        ("consoleTwoStepRequired", TwoStepRequiredSetting, false, "Every console user must have two-step sign-in (sessions of the admin token are not held to it)."),
    ];

    private static void MapSettings(IEndpointRouteBuilder app, ConsumerService consumers)
    {
        app.MapGet("/console/settings", context => Signed(context, () => SettingsAsync(context, consumers)));
        app.MapPost("/console/settings/{name}/{value}", context => Change(context, async actor =>
        {
            var name = Route(context, "name");
            var value = Route(context, "value");
            var setting = Array.Find(Switches, s => s.Name == name).Setting;
            var problem = setting is null || value is not ("on" or "off") ? AdminProblem.NotFound($"Setting '{name}'") : null;
            if (setting is not null && problem is null)
            {
                await consumers.Store.SetLoggedSettingAsync(setting, value == "on" ? "true" : "false", actor, context.RequestAborted).ConfigureAwait(false);
            }

            await Done(context, Task.FromResult(problem), "/console/settings").ConfigureAwait(false);
        }));
        // The longest a portal key may live: "" (no limit), 30d, 90d or 365d.
        app.MapPost("/console/settings/key-lifetime", context => Change(context, async actor =>
        {
            var value = context.Request.Form["lifetime"].ToString();
            var problem = value.Length > 0 && !ConsumerService.KeyLifetimeChoices.ContainsKey(value)
                ? ConsumerService.Invalid("lifetime", "Choose no limit, 30 days, 90 days or a year.")
                : null;
            if (problem is null)
            {
                await consumers.Store.SetLoggedSettingAsync(ConsumerService.KeyLifetimeMaxSetting, value, actor, context.RequestAborted).ConfigureAwait(false);
            }

            await Done(context, Task.FromResult(problem), "/console/settings").ConfigureAwait(false);
        }));
        // Change has read and checked the form (antiforgery included); the number is in it.
        app.MapPost("/console/settings/max-applications", context => Change(context, async actor =>
        {
            var text = context.Request.Form["max"].ToString().Trim();
            var problem = !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var max) || max is < 1 or > ConsumerService.MaxApplicationsCeiling
                ? ConsumerService.Invalid("max", string.Create(CultureInfo.InvariantCulture, $"Give a whole number of applications from 1 to {ConsumerService.MaxApplicationsCeiling:N0}."))
                : null;
            if (problem is null)
            {
                await consumers.Store.SetLoggedSettingAsync(ConsumerService.MaxApplicationsSetting, max.ToString(CultureInfo.InvariantCulture), actor, context.RequestAborted).ConfigureAwait(false);
            }

            await Done(context, Task.FromResult(problem), "/console/settings").ConfigureAwait(false);
        }));
    }

    private static async Task SettingsAsync(HttpContext context, ConsumerService consumers)
    {
        var rows = new List<ConsoleRow>();
        foreach (var (name, setting, @default, what) in Switches)
        {
            var stored = await consumers.Store.GetSettingAsync(setting, context.RequestAborted).ConfigureAwait(false);
            var on = PortalSwitches.IsOn(stored, @default);
            rows.Add(new ConsoleRow([name, on ? "on" : "off", what],
                [on ? new ConsoleAction($"Turn {name} off", $"/console/settings/{name}/off", Danger: name == "apiTokens") : new ConsoleAction($"Turn {name} on", $"/console/settings/{name}/on")]));
        }

        await WebRender.PageAsync<Pages.ConsolePage>(context, new
        {
            Page = Page(context, "Settings", context.Request.Query["done"].FirstOrDefault()),
            Tables = new[] { new ConsoleTable("Switches", ["Setting", "Now", "What it does"], rows) },
            MaxApplications = await consumers.MaxApplicationsAsync(context.RequestAborted).ConfigureAwait(false),
            KeyLifetimeMax = await consumers.KeyLifetimeMaxAsync(context.RequestAborted).ConfigureAwait(false) ?? "",
        }).ConfigureAwait(false);
    }
}
