using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Management.Consumers;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary>
/// Consumer data through the admin API (the console calls the same <see cref="ConsumerService"/>):
/// <c>GET /admin/portal/accounts</c> (<c>?email=&amp;state=&amp;after=&amp;limit=</c>), <c>GET /admin/portal/applications</c>
/// (<c>?id=&amp;title=&amp;account=&amp;plan=&amp;state=&amp;after=&amp;limit=</c>), searched as in the console (<see cref="ConsumerSearchQuery"/>),
/// <c>POST /admin/portal/{accounts|applications}/{id}/{approve|reject|suspend|resume}</c>,
/// <c>PATCH</c>/<c>DELETE /admin/portal/accounts/{id}</c>, <c>DELETE /admin/portal/applications/{id}</c>,
/// <c>DELETE /admin/portal/applications/{id}/keys/{prefix}</c>, <c>GET /admin/portal/changes</c> (the consumer audit log),
/// <c>GET /admin/portal/accounts/{id}/tokens</c> and <c>DELETE /admin/portal/accounts/{id}/tokens/{name}</c> (an account's API tokens),
/// <c>GET</c>/<c>PUT /admin/portal/settings</c> (<c>{ "accountApproval": true, "emailVerification": true, "twoStepRequired": true, "apiTokens": false, "maxApplicationsPerAccount": 50, "tryItPerMinute": 60 }</c>).
/// </summary>
internal static class PortalAdminEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ConsumerService consumers, AdminApiOptions options)
    {
        app.MapGet("/admin/portal/accounts", async context =>
        {
            var (limit, problem) = AdminRequests.Limit(context);
            var (search, error) = ConsumerSearchQuery.Accounts(context.Request.Query);
            problem ??= error is null ? null : AdminRequests.BadParameter(error);
            if (problem is not null)
            {
                await problem.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            // The console's search, the same store query: an operator's script finds an account by its address.
            var accounts = await consumers.Store.SearchAccountsAsync(search!, context.Request.Query["after"].FirstOrDefault(), limit, context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, new JsonObject
            {
                ["items"] = new JsonArray([.. accounts.Select(a => (JsonNode)new JsonObject
                {
                    ["id"] = a.Id, ["email"] = a.Email, ["title"] = a.Title, ["state"] = a.State.ToString().ToLowerInvariant(),
                    ["createdAt"] = a.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
                })]),
                ["next"] = accounts.Count == limit ? accounts[^1].Id : null,
            }).ConfigureAwait(false);
        });
        app.MapGet("/admin/portal/applications", async context =>
        {
            var (limit, problem) = AdminRequests.Limit(context);
            var (search, error) = ConsumerSearchQuery.Applications(context.Request.Query);
            problem ??= error is null ? null : AdminRequests.BadParameter(error);
            if (problem is not null)
            {
                await problem.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var applications = await consumers.Store.SearchApplicationsAsync(search!, context.Request.Query["after"].FirstOrDefault(), limit, context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, new JsonObject
            {
                ["items"] = new JsonArray([.. applications.Select(a => (JsonNode)new JsonObject
                {
                    ["id"] = a.Id, ["account"] = a.Account, ["title"] = a.Title, ["plan"] = a.Plan,
                    ["state"] = a.State.ToString().ToLowerInvariant(), ["effectiveState"] = a.EffectiveState.ToString().ToLowerInvariant(),
                    ["keys"] = JsonSerializer.SerializeToNode(a.Keys.Select(k => new { k.Prefix, k.CreatedAt, k.Expires }), JsonSerializerOptions.Web),
                    ["clientIds"] = new JsonArray([.. (a.ClientIds ?? []).Select(c => (JsonNode)c)]),
                    ["allowedAddresses"] = new JsonArray([.. (a.AllowedAddresses ?? []).Select(c => (JsonNode)c)]),
                })]),
                ["next"] = applications.Count == limit ? applications[^1].Id : null,
            }).ConfigureAwait(false);
        });
        foreach (var verb in (string[])["approve", "reject", "suspend", "resume"])
        {
            app.MapPost($"/admin/portal/accounts/{{id}}/{verb}", context =>
                AnswerAsync(context, consumers.DecideAccountAsync((string)context.Request.RouteValues["id"]!, verb, AdminCaller.Actor(context), context.RequestAborted)));
            app.MapPost($"/admin/portal/applications/{{id}}/{verb}", context =>
                AnswerAsync(context, consumers.DecideApplicationAsync((string)context.Request.RouteValues["id"]!, verb, AdminCaller.Actor(context), context.RequestAborted)));
        }

        app.MapMethods("/admin/portal/accounts/{id}", [HttpMethods.Patch], async context =>
        {
            var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
            if (problem is null && (body!.Count == 0 || body!.Any(e => e.Key is not ("email" or "title") || e.Value is not JsonValue v || !v.TryGetValue<string>(out _))))
            {
                problem = AdminRequests.BadParameter("The body is { \"email\": \"…\", \"title\": \"…\" }, with either or both.");
            }

            if (problem is not null)
            {
                await problem.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var id = (string)context.Request.RouteValues["id"]!;
            var actor = AdminCaller.Actor(context);
            // The name first: an address refused as taken leaves no half-made change behind it that matters.
            if (body!["title"]?.GetValue<string>() is { } title)
            {
                problem = await consumers.RenameAccountAsync(id, title, actor, context.RequestAborted).ConfigureAwait(false);
            }

            if (problem is null && body["email"]?.GetValue<string>() is { } email)
            {
                // No mailbox proof here: an administrator moves an account whose owner lost the old address, on their word.
                // The old address is told (should the word have been someone else's, its owner learns of it there).
                var before = await consumers.Store.GetAccountAsync(id, context.RequestAborted).ConfigureAwait(false);
                problem = await consumers.ChangeEmailAsync(id, email, actor, context.RequestAborted).ConfigureAwait(false);
                if (problem is null && before is not null && before.Email != ConsumerService.NormalizeEmail(email))
                {
                    consumers.Notify?.Invoke(new(ConsumerNoticeKind.AddressChanged, before.Email, NewEmail: ConsumerService.NormalizeEmail(email)));
                }
            }

            await AnswerAsync(context, Task.FromResult(problem)).ConfigureAwait(false);
        });
        app.MapDelete("/admin/portal/accounts/{id}", context => AnswerAsync(context,
            consumers.DeleteAccountAsync((string)context.Request.RouteValues["id"]!, AdminCaller.Actor(context), context.RequestAborted)));
        // For an owner who lost their phone and their recovery codes: they sign in with the password alone again.
        app.MapDelete("/admin/portal/accounts/{id}/two-step", async context =>
        {
            var id = (string)context.Request.RouteValues["id"]!;
            var done = await consumers.Store.SetAccountTwoStepAsync(id, null, null, null, ConsumerService.NewStamp(), AdminCaller.Actor(context), "two-step-off", context.RequestAborted)
                .ConfigureAwait(false);
            await AnswerAsync(context, Task.FromResult(done ? null : AdminProblem.NotFound($"Account '{id}'"))).ConfigureAwait(false);
        });
        // The account's address was given to someone else at the single sign-on provider: the next sign-in through the
        // provider with the address binds it again.
        app.MapDelete("/admin/portal/accounts/{id}/sso", async context =>
        {
            var id = (string)context.Request.RouteValues["id"]!;
            if (await consumers.Store.GetAccountAsync(id, context.RequestAborted).ConfigureAwait(false) is null)
            {
                await AdminProblem.NotFound($"Account '{id}'").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            await consumers.Store.UnlinkSsoAsync(id, AdminCaller.Actor(context), "account", context.RequestAborted).ConfigureAwait(false);
            await AnswerAsync(context, Task.FromResult<AdminProblem?>(null)).ConfigureAwait(false);
        });
        // An account's API tokens for the portal's JSON API (never the tokens): what a consumer's scripts may do, and a
        // way to stop one without suspending the account.
        app.MapGet("/admin/portal/accounts/{id}/tokens", async context =>
        {
            var id = (string)context.Request.RouteValues["id"]!;
            if (await consumers.Store.GetAccountAsync(id, context.RequestAborted).ConfigureAwait(false) is null)
            {
                await AdminProblem.NotFound($"Account '{id}'").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var tokens = await consumers.Store.ListPortalTokensAsync(id, context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, new JsonObject { ["items"] = new JsonArray([.. tokens.Select(t => (JsonNode)Portal.PortalApiEndpoints.Token(t))]) }).ConfigureAwait(false);
        });
        app.MapDelete("/admin/portal/accounts/{id}/tokens/{name}", context => AnswerAsync(context,
            consumers.RevokeTokenAsync((string)context.Request.RouteValues["id"]!, (string)context.Request.RouteValues["name"]!, AdminCaller.Actor(context), context.RequestAborted)));
        app.MapPut("/admin/portal/applications/{id}/client-ids", async context =>
        {
            var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
            if (problem is null && (body!.Count != 1 || body["clientIds"] is not JsonArray given || given.Any(c => c is not JsonValue v || v.GetValueKind() != JsonValueKind.String)))
            {
                problem = AdminRequests.BadParameter("The body is { \"clientIds\": [\"…\"] }: the application's OAuth client ids, each a string ([] for none).");
            }

            if (problem is not null)
            {
                await problem.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var list = (JsonArray)body!["clientIds"]!;
            var (changed, refused) = await consumers.SetClientIdsAsync((string)context.Request.RouteValues["id"]!, [.. list.Select(c => c!.GetValue<string>())],
                AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
            if (refused is not null)
            {
                await refused.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            await AdminRequests.WriteJsonAsync(context, new JsonObject
            {
                ["clientIds"] = new JsonArray([.. (changed!.ClientIds ?? []).Select(c => (JsonNode)c)]),
            }).ConfigureAwait(false);
        });
        app.MapPut("/admin/portal/applications/{id}/plan", async context =>
        {
            var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
            if (problem is null && (body!.Count != 1 || body["plan"] is not JsonValue given || given.GetValueKind() != JsonValueKind.String))
            {
                problem = AdminRequests.BadParameter("The body is { \"plan\": \"NAME\" }: the plan to put the application on.");
            }

            if (problem is not null)
            {
                await problem.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var (moved, refused) = await consumers.MovePlanAsync((string)context.Request.RouteValues["id"]!, body!["plan"]!.GetValue<string>(),
                AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
            if (refused is not null)
            {
                await refused.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            await AdminRequests.WriteJsonAsync(context, new JsonObject
            {
                ["plan"] = moved!.Plan,
                ["state"] = moved.State.ToString().ToLowerInvariant(),
            }).ConfigureAwait(false);
        });
        app.MapDelete("/admin/portal/applications/{id}", context => AnswerAsync(context,
            consumers.DeleteApplicationAsync(null, (string)context.Request.RouteValues["id"]!, AdminCaller.Actor(context), context.RequestAborted)));
        app.MapDelete("/admin/portal/applications/{id}/keys/{prefix}", context => AnswerAsync(context,
            consumers.RevokeKeyAsync(null, (string)context.Request.RouteValues["id"]!, (string)context.Request.RouteValues["prefix"]!, AdminCaller.Actor(context), context.RequestAborted)));
        app.MapGet("/admin/portal/changes", async context =>
        {
            var (limit, problem) = AdminRequests.Limit(context);
            var (before, beforeProblem) = AdminRequests.Before(context);
            if ((problem ?? beforeProblem) is { } bad)
            {
                await bad.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var changes = await consumers.Store.ListConsumerChangesAsync(before, limit, context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, new JsonObject
            {
                ["items"] = new JsonArray([.. changes.Select(c => (JsonNode)new JsonObject
                {
                    ["seq"] = c.Seq, ["at"] = c.At.ToString("O", CultureInfo.InvariantCulture), ["actor"] = c.Actor, ["action"] = c.Action,
                    ["kind"] = c.Kind, ["name"] = c.Name, ["before"] = AdminRequests.Json(c.Before), ["after"] = AdminRequests.Json(c.After),
                })]),
                ["next"] = changes.Count == limit ? changes[^1].Seq : null,
            }).ConfigureAwait(false);
        });
        app.MapGet("/admin/portal/settings", async context => await AdminRequests.WriteJsonAsync(context, await SettingsAsync(consumers, context.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false));
        app.MapPut("/admin/portal/settings", async context =>
        {
            var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
            if (problem is null && (body!.Count == 0 || body!.Any(e => !(PortalSwitches.SettingOf(e.Key) is not null && e.Value is JsonValue v && v.TryGetValue<bool>(out _))
                && !(e.Key == MaxApplicationsName && e.Value is JsonValue n && n.TryGetValue<int>(out var max) && max is >= 1 and <= ConsumerService.MaxApplicationsCeiling)
                && !(e.Key == TryItPerMinuteName && e.Value is JsonValue t && t.TryGetValue<int>(out var rate) && rate is >= 1 and <= ConsumerService.TryItPerMinuteCeiling)
                && !(e.Key == KeyLifetimeMaxName && (e.Value is null || (e.Value is JsonValue l && l.TryGetValue<string>(out var lifetime) && ConsumerService.KeyLifetimeChoices.ContainsKey(lifetime)))))))
            {
                problem = AdminRequests.BadParameter(
                    $"The body is {{ {string.Concat(PortalSwitches.All.Select(s => $"\"{s.Name}\": true | false, "))}\"{MaxApplicationsName}\": 1 to {ConsumerService.MaxApplicationsCeiling}, \"{KeyLifetimeMaxName}\": \"30d\" | \"90d\" | \"365d\" | null, \"{TryItPerMinuteName}\": 1 to {ConsumerService.TryItPerMinuteCeiling} }}, with any of them.");
            }

            if (problem is not null)
            {
                await problem.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            foreach (var (name, value) in body!)
            {
                if (name == KeyLifetimeMaxName)
                {
                    // null: keys may never expire again (the setting's absence; an empty value reads the same).
                    await consumers.Store.SetLoggedSettingAsync(ConsumerService.KeyLifetimeMaxSetting, value?.GetValue<string>() ?? "", AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
                    continue;
                }

                if (name == TryItPerMinuteName)
                {
                    await consumers.Store.SetLoggedSettingAsync(ConsumerService.TryItPerMinuteSetting, value!.GetValue<int>().ToString(CultureInfo.InvariantCulture), AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
                    continue;
                }

                await consumers.Store.SetLoggedSettingAsync(name == MaxApplicationsName ? ConsumerService.MaxApplicationsSetting : PortalSwitches.SettingOf(name)!,
                    name == MaxApplicationsName ? value!.GetValue<int>().ToString(CultureInfo.InvariantCulture) : value!.GetValue<bool>() ? "true" : "false", AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
            }

            await AdminRequests.WriteJsonAsync(context, await SettingsAsync(consumers, context.RequestAborted).ConfigureAwait(false)).ConfigureAwait(false);
        });
    }

    private const string MaxApplicationsName = "maxApplicationsPerAccount";

    private const string KeyLifetimeMaxName = "keyLifetimeMax";

    private const string TryItPerMinuteName = "tryItPerMinute";

    private static async Task<JsonObject> SettingsAsync(ConsumerService consumers, CancellationToken cancellationToken)
    {
        var settings = new JsonObject();
        foreach (var (name, setting, @default, _) in PortalSwitches.All)
        {
            settings[name] = PortalSwitches.IsOn(await consumers.Store.GetSettingAsync(setting, cancellationToken).ConfigureAwait(false), @default);
        }

        settings[MaxApplicationsName] = await consumers.MaxApplicationsAsync(cancellationToken).ConfigureAwait(false);
        settings[KeyLifetimeMaxName] = await consumers.KeyLifetimeMaxAsync(cancellationToken).ConfigureAwait(false);
        settings[TryItPerMinuteName] = await consumers.TryItPerMinuteAsync(cancellationToken).ConfigureAwait(false);
        return settings;
    }

    // ?state=NAME, one of the enum's names in lower case; anything else (a typo, a number) is a 400, not "every state".
    private static async Task AnswerAsync(HttpContext context, Task<AdminProblem?> change)
    {
        if (await change.ConfigureAwait(false) is { } problem)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["done"] = true }).ConfigureAwait(false);
    }
}
