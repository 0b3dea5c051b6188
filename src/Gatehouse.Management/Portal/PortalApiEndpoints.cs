using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Plans;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Portal;

/// <summary>
/// The portal's JSON API for consumers' scripts and pipelines (<c>/api/v1</c>, docs/portal.md): what the applications'
/// pages do, with an account's own API token (<c>Authorization: Bearer ghc_…</c>) instead of a session. Cookies are never
/// read here, so a page on another site cannot make a signed-in browser call it. Every answer is JSON, every refusal
/// RFC 9457 problem+json. The handlers call <see cref="ConsumerService"/>, as the pages and the admin API do.
/// </summary>
internal static class PortalApiEndpoints
{
    public const string Base = "/api/v1";

    /// <summary>Largest body a call may send.</summary>
    private const long MaxBody = 16 * 1024;

    public static void Map(IEndpointRouteBuilder app, PortalContext portal, TokenFailures failures)
    {
        app.MapGet(Base + "/openapi.json", context => AdminRequests.WriteJsonAsync(context, PortalApiDocument.Build()));
        app.MapGet(Base + "/plans", context => Authed(context, portal, failures, (_, _) => PlansAsync(context, portal)));
        app.MapGet(Base + "/me", context => Authed(context, portal, failures, (account, token) => MeAsync(context, account, token)));
        app.MapGet(Base + "/applications", context => Authed(context, portal, failures, (account, _) => ListAsync(context, portal, account)));
        app.MapPost(Base + "/applications", context => Authed(context, portal, failures, (account, token) => CreateAsync(context, portal, account, token)));
        app.MapGet(Base + "/applications/{id}", context => Authed(context, portal, failures, (account, _) => ShowAsync(context, portal, account, Id(context))));
        app.MapMethods(Base + "/applications/{id}", [HttpMethods.Patch], context => Authed(context, portal, failures, (account, token) => ChangeAsync(context, portal, account, token)));
        app.MapDelete(Base + "/applications/{id}", context => Authed(context, portal, failures, (account, token) =>
            DoneAsync(context, PortalEndpoints.DeleteApplicationAsync(portal, account.Id, Id(context), Actor(account, token), context.RequestAborted))));
        app.MapPut(Base + "/applications/{id}/allowed-addresses", context => Authed(context, portal, failures, (account, token) => SetAddressesAsync(context, portal, account, token)));
        app.MapPost(Base + "/applications/{id}/oauth-clients", context => Authed(context, portal, failures, (account, token) => RegisterClientAsync(context, portal, account, token)));
        app.MapDelete(Base + "/applications/{id}/oauth-clients/{clientId}", context => Authed(context, portal, failures, (account, token) =>
            DoneAsync(context, RemoveClientAsync(portal, account.Id, Id(context), ClientIdOf(context), Actor(account, token), context.RequestAborted))));
        app.MapPost(Base + "/applications/{id}/keys", context => Authed(context, portal, failures, (account, token) => NewKeyAsync(context, portal, account, token)));
        app.MapPost(Base + "/applications/{id}/keys/{prefix}/rotate", context => Authed(context, portal, failures, (account, token) => RotateAsync(context, portal, account, token)));
        app.MapDelete(Base + "/applications/{id}/keys/{prefix}", context => Authed(context, portal, failures, (account, token) =>
            DoneAsync(context, portal.Consumers.RevokeKeyAsync(account.Id, Id(context), PortalEndpoints.Route(context, "prefix"), Actor(account, token), context.RequestAborted))));
        app.MapGet(Base + "/applications/{id}/activity", context => Authed(context, portal, failures, (account, _) => ActivityAsync(context, portal, account)));
        app.MapGet(Base + "/applications/{id}/usage", context => Authed(context, portal, failures, (account, _) => UsageAsync(context, portal, account, csv: false)));
        app.MapGet(Base + "/applications/{id}/usage.csv", context => Authed(context, portal, failures, (account, _) => UsageAsync(context, portal, account, csv: true)));
        app.Map("/api/{**rest}", context => new AdminProblem(StatusCodes.Status404NotFound, "api-not-found", "Not found",
            $"The portal's API has no {context.Request.Method} {context.Request.Path}; {Base}/openapi.json describes what it has.").WriteAsync(context));
    }

    /// <summary>Who the change log says made a change through the API: the account, and which of its tokens.</summary>
    internal static string Actor(ConsumerAccount account, PortalToken token) => $"portal:{account.Email} token {token.Name}";

    private static string Id(HttpContext context) => PortalEndpoints.Route(context, "id");

    // The account and token of the call, or its refusal. A client address that sent 30 unknown tokens in a minute is
    // answered 429 without a lookup until the minute is over (tokens are 192 random bits: this guards the store, not them).
    private static async Task Authed(HttpContext context, PortalContext portal, TokenFailures failures, Func<ConsumerAccount, PortalToken, Task> next)
    {
        context.Response.Headers.CacheControl = "no-store";
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (failures.Exhausted(address))
        {
            context.Response.Headers.RetryAfter = "60";
            await new AdminProblem(StatusCodes.Status429TooManyRequests, "too-many-attempts", "Too many attempts",
                "This address sent too many unknown tokens; wait a minute and send a valid one.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var (account, token, problem) = await portal.Consumers.AuthenticateTokenAsync(context.Request.Headers.Authorization.ToString() is { Length: > 0 } h ? h : null, context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            if (problem.Status == StatusCodes.Status401Unauthorized)
            {
                // RFC 6750: a request without a token gets the challenge alone; a bad one, the error too.
                context.Response.Headers.WWWAuthenticate = problem.Slug == "token-missing" ? "Bearer realm=\"gatehouse-portal\"" : "Bearer realm=\"gatehouse-portal\", error=\"invalid_token\"";
                if (problem.Slug == "token-invalid")
                {
                    failures.Count(address);
                }
            }

            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        if (token!.Scope == PortalTokenScope.Read && !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await new AdminProblem(StatusCodes.Status403Forbidden, "token-read-only", "Read-only token",
                $"The token {token.Name} may only read; make a token with the write scope to change applications. Nothing was changed.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await next(account!, token).ConfigureAwait(false);
    }

    private static Task MeAsync(HttpContext context, ConsumerAccount account, PortalToken token) => AdminRequests.WriteJsonAsync(context, new JsonObject
    {
        ["id"] = account.Id,
        ["email"] = account.Email,
        ["title"] = account.Title,
        ["state"] = account.State.ToString().ToLowerInvariant(),
        ["createdAt"] = Time(account.CreatedAt),
        ["token"] = Token(token),
    });

    internal static JsonObject Token(PortalToken token) => new()
    {
        ["name"] = token.Name,
        ["prefix"] = token.Prefix,
        ["scope"] = token.Scope.ToString().ToLowerInvariant(),
        ["createdAt"] = Time(token.CreatedAt),
        ["expiresAt"] = token.ExpiresAt is { } e ? Time(e) : null,
        ["lastUsedAt"] = token.LastUsedAt is { } u ? Time(u) : null,
    };

    private static async Task PlansAsync(HttpContext context, PortalContext portal)
    {
        var config = await portal.Consumers.ConfigAsync(context.RequestAborted).ConfigureAwait(false) ?? new GatehouseConfig();
        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["items"] = new JsonArray([.. ConsumerService.PublicPlans(config).Select(p =>
            {
                var operations = PlanProjection.Of(p.Name, config);
                return (JsonNode)new JsonObject
                {
                    ["name"] = p.Name,
                    ["title"] = p.Plan.Title ?? p.Name,
                    ["description"] = p.Plan.Description,
                    ["approvalRequired"] = p.Plan.ApprovalRequired,
                    ["limits"] = new JsonArray([.. p.Plan.Limits.Where(l => l.Mode == LimitMode.Enforce).Select(l => (JsonNode)new JsonObject
                    {
                        ["requests"] = l.Requests,
                        ["per"] = l.Per.ToString().ToLowerInvariant(),
                    })]),
                    // One entry per route, as the plan's page lists them: an operation served on two routes may need
                    // other scopes on each (PlanProjection's, which the page and the plan's document show too).
                    ["operations"] = new JsonArray([.. operations.Select(o => (JsonNode)new JsonObject
                    {
                        ["id"] = o.Id,
                        ["method"] = o.Method,
                        ["path"] = o.Path,
                        ["access"] = o.Access.ToString().ToLowerInvariant(),
                        ["requireScopes"] = new JsonArray([.. o.Scopes.Select(s => (JsonNode)s)]),
                    })]),
                    ["openapi"] = $"/plans/{Uri.EscapeDataString(p.Name)}/openapi.json",
                };
            })]),
        }).ConfigureAwait(false);
    }

    internal static JsonObject Application(PortalApplication application) => new()
    {
        ["id"] = application.Id,
        ["title"] = application.Title,
        ["description"] = application.Description,
        ["plan"] = application.Plan,
        ["state"] = application.EffectiveState.ToString().ToLowerInvariant(),
        ["createdAt"] = Time(application.CreatedAt),
        ["keys"] = new JsonArray([.. application.Keys.Select(k => (JsonNode)new JsonObject
        {
            ["prefix"] = k.Prefix,
            ["createdAt"] = Time(k.CreatedAt),
            ["expiresAt"] = k.Expires is { } e ? Time(e) : null,
        })]),
        ["clientIds"] = new JsonArray([.. (application.ClientIds ?? []).Select(c => (JsonNode)c)]),
        ["allowedAddresses"] = new JsonArray([.. (application.AllowedAddresses ?? []).Select(a => (JsonNode)a)]),
    };

    private static async Task ListAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        var applications = await portal.Consumers.Store.ListApplicationsAsync(account.Id, null, null, 1000, context.RequestAborted).ConfigureAwait(false);
        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["items"] = new JsonArray([.. applications.Select(a => (JsonNode)Application(a))]) }).ConfigureAwait(false);
    }

    private static async Task ShowAsync(HttpContext context, PortalContext portal, ConsumerAccount account, string id)
    {
        if (await portal.Consumers.FindAsync(account.Id, id, context.RequestAborted).ConfigureAwait(false) is not { } application)
        {
            await NotYours().WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, Application(application)).ConfigureAwait(false);
    }

    // Another account's application is "not found", exactly like one that does not exist.
    private static AdminProblem NotYours() => AdminProblem.NotFound("An application of yours with this id");

    private static async Task CreateAsync(HttpContext context, PortalContext portal, ConsumerAccount account, PortalToken token)
    {
        var (body, problem) = await BodyAsync(context, ["title", "description", "plan", "keyExpiresIn"]).ConfigureAwait(false);
        TimeSpan? lifetime = null;
        if (problem is null)
        {
            (lifetime, problem) = await KeyLifetimeAsync(context, portal, body!).ConfigureAwait(false);
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var fields = body!;
        var (application, key, refused) = await portal.Consumers.CreateApplicationAsync(account, fields.Text("title"), fields.Text("description"), fields.Text("plan"),
            Actor(account, token), context.RequestAborted, lifetime).ConfigureAwait(false);
        if (refused is not null)
        {
            await refused.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.Headers.Location = $"{Base}/applications/{application!.Id}";
        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["application"] = Application(application), ["key"] = key }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    // A key's lifetime from the body's keyExpiresIn. Left out where the portal sets a longest lifetime: a key that lives
    // that long, so that scripts written before the setting keep working.
    private static async Task<(TimeSpan? Lifetime, AdminProblem? Problem)> KeyLifetimeAsync(HttpContext context, PortalContext portal, JsonObject body)
    {
        if (!PortalEndpoints.KeyLifetimes.TryGetValue(body.Text("keyExpiresIn"), out var chosen))
        {
            return (null, ConsumerService.Invalid("keyExpiresIn", "keyExpiresIn is 30d, 90d or 365d, or left out for a key that does not expire (or, where the portal sets a longest lifetime, one that lives that long)."));
        }

        return body["keyExpiresIn"] is null && await portal.Consumers.KeyLifetimeMaxAsync(context.RequestAborted).ConfigureAwait(false) is { } max
            ? (ConsumerService.KeyLifetimeChoices[max], null)
            : (chosen, null);
    }

    // The page's "Make a new key" for scripts: an application whose last key was revoked or expired is not stuck.
    private static async Task NewKeyAsync(HttpContext context, PortalContext portal, ConsumerAccount account, PortalToken token)
    {
        var (body, problem) = await BodyAsync(context, ["keyExpiresIn"]).ConfigureAwait(false);
        TimeSpan? lifetime = null;
        if (problem is null)
        {
            (lifetime, problem) = await KeyLifetimeAsync(context, portal, body!).ConfigureAwait(false);
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var (application, key, refused) = await portal.Consumers.AddKeyAsync(account, Id(context), Actor(account, token), context.RequestAborted, lifetime).ConfigureAwait(false);
        if (refused is not null)
        {
            await refused.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["application"] = Application(application!), ["key"] = key }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task ChangeAsync(HttpContext context, PortalContext portal, ConsumerAccount account, PortalToken token)
    {
        var (body, problem) = await BodyAsync(context, ["title", "description", "plan"]).ConfigureAwait(false);
        if (problem is null && body!.Count == 0)
        {
            problem = AdminRequests.BadParameter("The body gives any of { \"title\", \"description\", \"plan\" }: what to change.");
        }

        // The name first: a move onto a plan that is refused then leaves the new name, which was asked for too.
        if (problem is null && (body!.ContainsKey("title") || body.ContainsKey("description")))
        {
            problem = await portal.Consumers.RenameApplicationAsync(account.Id, Id(context), body.ContainsKey("title") ? body.Text("title") : null,
                body.ContainsKey("description") ? body.Text("description") : null, Actor(account, token), context.RequestAborted).ConfigureAwait(false);
        }

        if (problem is null && body!.ContainsKey("plan"))
        {
            problem = await portal.Consumers.ChangePlanAsync(account.Id, Id(context), body.Text("plan"), Actor(account, token), context.RequestAborted).ConfigureAwait(false);
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await ShowAsync(context, portal, account, Id(context)).ConfigureAwait(false);
    }

    private static async Task RotateAsync(HttpContext context, PortalContext portal, ConsumerAccount account, PortalToken token)
    {
        var (body, problem) = await BodyAsync(context, ["grace"]).ConfigureAwait(false);
        if (problem is null && (!Model.Loading.Units.TryParseDuration(body!.Text("grace"), out var parsed) || parsed < TimeSpan.Zero || parsed > TimeSpan.FromDays(30)))
        {
            problem = ConsumerService.Invalid("grace", "grace is how long the old key keeps working, from 0s to 30d (for example 1h or 7d): 0s ends it now.");
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        Model.Loading.Units.TryParseDuration(body!.Text("grace"), out var grace);
        var (application, key, refused) = await portal.Consumers.RotateKeyAsync(account.Id, Id(context), PortalEndpoints.Route(context, "prefix"), grace, Actor(account, token), context.RequestAborted).ConfigureAwait(false);
        if (refused is not null)
        {
            await refused.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["application"] = Application(application!), ["key"] = key }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    /// <summary>Most changes the activity answers: the application's latest, newest first.</summary>
    private const int ActivityRows = 100;

    // The application's changes as its page lists them: when, by whom as the consumer may know it, and what.
    private static async Task ActivityAsync(HttpContext context, PortalContext portal, ConsumerAccount account)
    {
        if (await portal.Consumers.FindAsync(account.Id, Id(context), context.RequestAborted).ConfigureAwait(false) is not { } application)
        {
            await NotYours().WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var changes = await portal.Consumers.Store.ListConsumerChangesOfAsync("application", application.Id, ActivityRows, context.RequestAborted).ConfigureAwait(false);
        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["items"] = new JsonArray([.. changes.Select(c => (JsonNode)new JsonObject
            {
                ["at"] = Time(c.At),
                ["who"] = PortalEndpoints.Who(c.Actor, account),
                ["what"] = c.Action,
            })]),
        }).ConfigureAwait(false);
    }

    private static async Task UsageAsync(HttpContext context, PortalContext portal, ConsumerAccount account, bool csv)
    {
        if (portal.Options.Admin.ConsumerUsage is not { } source)
        {
            await UsageOff().WriteAsync(context).ConfigureAwait(false);
            return;
        }

        if (UsageRange(context, portal.Consumers.Time) is not ({ } from, { } to))
        {
            await BadRange().WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var application = await portal.Consumers.FindAsync(account.Id, Id(context), context.RequestAborted).ConfigureAwait(false);
        if (application is null)
        {
            await NotYours().WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var report = await source.GetAsync(application.Id, from, to, context.RequestAborted).ConfigureAwait(false);
        if (csv)
        {
            await WriteCsvAsync(context, report, from, to).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, Analytics.AnalyticsJson.Write(report)).ConfigureAwait(false);
    }

    internal static AdminProblem UsageOff() => new(StatusCodes.Status404NotFound, "usage-off", "No usage",
        "This portal's node records no usage (gateway.observability.usage is off, or no store keeps it).");

    internal static AdminProblem BadRange() => AdminRequests.BadParameter(string.Create(CultureInfo.InvariantCulture,
        $"'from' and 'to' are days written 2026-01-31, 'from' not after 'to', at most {Analytics.ConsumerUsage.MaxDays} days apart (by default the last 30 days)."));

    /// <summary>The report's days from <c>?from=&amp;to=</c> (by default the 30 days to today, UTC); null when they are not days or not a range.</summary>
    internal static (DateOnly From, DateOnly To)? UsageRange(HttpContext context, TimeProvider time)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        return Analytics.AnalyticsEndpoints.TryDay(context.Request.Query["to"].ToString(), today, out var to)
            && Analytics.AnalyticsEndpoints.TryDay(context.Request.Query["from"].ToString(), to.AddDays(-29), out var from) && from <= to
            && to.DayNumber - from.DayNumber < Analytics.ConsumerUsage.MaxDays ? (from, to) : null;
    }

    internal static Task WriteCsvAsync(HttpContext context, Analytics.ConsumerUsageReport report, DateOnly from, DateOnly to)
    {
        context.Response.ContentType = "text/csv; charset=utf-8; header=present";
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{Analytics.ConsumerUsageCsv.FileName(report.Application, from, to)}\"";
        return context.Response.WriteAsync(Analytics.ConsumerUsageCsv.Write(report), context.RequestAborted);
    }

    private static async Task SetAddressesAsync(HttpContext context, PortalContext portal, ConsumerAccount account, PortalToken token)
    {
        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, MaxBody, allowEmpty: false, objectIs: "with the field allowedAddresses",
            limitOf: "the portal API's limit").ConfigureAwait(false);
        if (problem is null && (body!.Count != 1 || body["allowedAddresses"] is not JsonArray given
            || given.Any(a => a is not JsonValue v || v.GetValueKind() != System.Text.Json.JsonValueKind.String)))
        {
            problem = AdminRequests.BadParameter("The body is { \"allowedAddresses\": [\"…\"] }: the addresses and CIDR ranges the application may call from, each a string ([] for any).");
        }

        PortalApplication? changed = null;
        if (problem is null)
        {
            var list = body!["allowedAddresses"]!.AsArray().Select(a => a!.GetValue<string>()).ToList();
            (changed, problem) = await portal.Consumers.SetAllowedAddressesAsync(account.Id, Id(context), list, Actor(account, token), context.RequestAborted).ConfigureAwait(false);
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, Application(changed!)).ConfigureAwait(false);
    }

    private static async Task RegisterClientAsync(HttpContext context, PortalContext portal, ConsumerAccount account, PortalToken token)
    {
        if (portal.OAuth is not { } oauth)
        {
            await NoRegistration().WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var (client, problem) = await oauth.RegisterAsync(account.Id, Id(context), Actor(account, token), context.RequestAborted).ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["application"] = Application(client!.Application),
            ["clientId"] = client.ClientId,
            ["clientSecret"] = client.ClientSecret,
            ["clientSecretExpiresAt"] = client.SecretExpiresAt is { } at ? Time(at) : null,
            ["tokenEndpoint"] = client.TokenEndpoint,
        }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task<AdminProblem?> RemoveClientAsync(PortalContext portal, string accountId, string id, string clientId, string actor, CancellationToken cancellationToken) =>
        (await PortalEndpoints.RemoveClientIdAsync(portal, accountId, id, clientId, actor, cancellationToken).ConfigureAwait(false)).Problem;

    // The {clientId} segment: the server decodes every escape in a path but %2F, which stays as it came, so a client id
    // with '/' (OAuth allows it) arrives with %2F where its slashes were.
    private static string ClientIdOf(HttpContext context) => PortalEndpoints.Route(context, "clientId").Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    internal static AdminProblem NoRegistration() => new(StatusCodes.Status404NotFound, "oauth-registration-off", "No OAuth client registration",
        "This portal registers no OAuth clients (its operators have not named a provider with --portal-oauth-issuer); ask them for a client id.");

    private static async Task DoneAsync(HttpContext context, Task<AdminProblem?> change)
    {
        if (await change.ConfigureAwait(false) is { } problem)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    // A JSON object of string fields from the ones named (any other field, or a value that is not a string, is a 400:
    // a typo in a script should fail loudly, not be ignored).
    private static async Task<(JsonObject? Body, AdminProblem? Problem)> BodyAsync(HttpContext context, string[] fields)
    {
        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, MaxBody, allowEmpty: false, objectIs: "with the fields " + string.Join(", ", fields),
            limitOf: "the portal API's limit").ConfigureAwait(false);
        if (problem is not null)
        {
            return (null, problem);
        }

        foreach (var (name, value) in body!)
        {
            if (!fields.Contains(name, StringComparer.Ordinal))
            {
                return (null, AdminRequests.BadParameter($"'{name}' is not a field of this call; its fields are {string.Join(", ", fields)}."));
            }

            if (value is not JsonValue v || !v.TryGetValue<string>(out _))
            {
                return (null, AdminRequests.BadParameter($"'{name}' must be a string."));
            }
        }

        return (body, null);
    }

    private static string Text(this JsonObject body, string name) => body[name]?.GetValue<string>() ?? "";

    private static string Time(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>
    /// Unknown tokens counted per client address (<see cref="System.Threading.RateLimiting"/>'s fixed windows, a minute
    /// each): once an address has sent <see cref="Limit"/> in a window it is refused without a store lookup until the window ends.
    /// </summary>
    internal sealed class TokenFailures : IDisposable
    {
        public const int Limit = 30;

        private readonly PartitionedRateLimiter<IPAddress> _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address =>
            RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = Limit,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));

        public bool Exhausted(IPAddress address) => _limiter.GetStatistics(address)?.CurrentAvailablePermits == 0;

        public void Count(IPAddress address)
        {
            using var lease = _limiter.AttemptAcquire(address);
        }

        public void Dispose() => _limiter.Dispose();
    }
}
