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
            if (value.Length > 0 && !ConsumerService.KeyLifetimeChoices.ContainsKey(value))
            {
                await SettingsAsync(context, consumers, lifetimeError: "Choose no limit, 30 days, 90 days or a year.").ConfigureAwait(false);
                return;
            }

            await consumers.Store.SetLoggedSettingAsync(ConsumerService.KeyLifetimeMaxSetting, value, actor, context.RequestAborted).ConfigureAwait(false);
            context.Response.Redirect("/console/settings?done=Done.");
        }));
        foreach (var number in Numbers)
        {
            // Change has read and checked the form (antiforgery included); the number is in it.
            app.MapPost("/console/settings/" + number.Id, context => Change(context, async actor =>
            {
                var text = context.Request.Form[number.Field].ToString().Trim();
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > number.Ceiling)
                {
                    // The page again, with what was typed in its field and why it was refused beside it: nothing is lost.
                    await SettingsAsync(context, consumers, (number.Id, text, string.Create(CultureInfo.InvariantCulture,
                        $"Not set: \"{Shorten(text)}\" is not a number this takes. Give a whole number of {number.Unit} from 1 to {number.Ceiling:N0}, without spaces or separators."))).ConfigureAwait(false);
                    return;
                }

                // The admin API's write: the change log has it with the console user as actor, the value before and after.
                await consumers.Store.SetLoggedSettingAsync(number.Setting, value.ToString(CultureInfo.InvariantCulture), actor, context.RequestAborted).ConfigureAwait(false);
                context.Response.Redirect("/console/settings?done=Done.");
            }));
        }
    }

    // The portal's whole-number settings, in the page's order: the same store settings (and bounds) as
    // PUT /admin/portal/settings's maxApplicationsPerAccount and tryItPerMinute, read through the service that enforces them.
    private static readonly (string Id, string Field, string Setting, string Unit, string Title, string What, int Default, int Ceiling, Func<ConsumerService, CancellationToken, Task<int>> Read)[] Numbers =
    [
        ("max-applications", "max", ConsumerService.MaxApplicationsSetting, "applications", "Applications an account may hold",
            "A portal account that holds this many (not counting deleted ones) cannot create another.",
            ConsumerService.DefaultMaxApplications, ConsumerService.MaxApplicationsCeiling, (c, ct) => c.MaxApplicationsAsync(ct)),
        ("try-it-per-minute", "perMinute", ConsumerService.TryItPerMinuteSetting, "calls", "Try-it calls an account may send a minute",
            "How many requests one signed-in account may send through the API reference's try it in a minute; past it, try it answers 429 with when to try again.",
            ConsumerService.DefaultTryItPerMinute, ConsumerService.TryItPerMinuteCeiling, (c, ct) => c.TryItPerMinuteAsync(ct)),
    ];

    // What was typed, quoted back in an error: enough to recognise, never a page of it.
    private static string Shorten(string text) => text.Length <= 20 ? text : text[..20] + "…";

    // refused: the number form whose post was refused (its id, what was typed, why), answered 422 with the page;
    // lifetimeError the same for the key lifetime's.
    private static async Task SettingsAsync(HttpContext context, ConsumerService consumers, (string Id, string Entered, string Error)? refused = null, string? lifetimeError = null)
    {
        var rows = new List<ConsoleRow>();
        foreach (var (name, setting, @default, what) in Switches)
        {
            var stored = await consumers.Store.GetSettingAsync(setting, context.RequestAborted).ConfigureAwait(false);
            var on = PortalSwitches.IsOn(stored, @default);
            rows.Add(new ConsoleRow([name, on ? "on" : "off", @default ? "on" : "off", what],
                [on ? new ConsoleAction($"Turn {name} off", $"/console/settings/{name}/off", Danger: name == "apiTokens") : new ConsoleAction($"Turn {name} on", $"/console/settings/{name}/on")]));
        }

        var numbers = new List<ConsoleNumberSetting>();
        foreach (var number in Numbers)
        {
            var now = await number.Read(consumers, context.RequestAborted).ConfigureAwait(false);
            var mine = refused is { } r && r.Id == number.Id;
            numbers.Add(new ConsoleNumberSetting(number.Id, number.Field, number.Title,
                string.Create(CultureInfo.InvariantCulture, $"{number.Title} (1 to {number.Ceiling:N0})"), number.What, now, number.Default, number.Ceiling,
                mine ? refused!.Value.Entered : null, mine ? refused!.Value.Error : null));
        }

        var failed = refused is not null || lifetimeError is not null;
        await WebRender.PageAsync<Pages.ConsolePage>(context, new
        {
            Page = Page(context, "Settings", failed ? null : context.Request.Query["done"].FirstOrDefault()),
            Tables = new[] { new ConsoleTable("Switches", ["Setting", "Now", "Default", "What it does"], rows) },
            Numbers = numbers,
            KeyLifetimeMax = await consumers.KeyLifetimeMaxAsync(context.RequestAborted).ConfigureAwait(false) ?? "",
            KeyLifetimeError = lifetimeError,
        }, failed ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status200OK).ConfigureAwait(false);
    }
}
