using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Registrations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Registrations;

/// <summary>
/// Self-registration of targets: <c>PUT /admin/services/{name}/registrations</c> registers or renews (a heartbeat),
/// <c>DELETE …?url=</c> deregisters, <c>GET</c> lists the live ones. PUT and DELETE take the admin token or one of the
/// service's registration tokens; they write only the registrations table, never a revision or an audit entry.
/// </summary>
internal static partial class RegistrationEndpoints
{
    private const string AdminOwner = "admin";
    private const string TokenOwner = "service-token";

    public static void Map(IEndpointRouteBuilder app, AdminApiOptions options, ConfigChanges changes, ILogger logger)
    {
                var adminHash = Convert.FromHexString(options.TokenSha256);
        var writes = new RegistrationWrites(options.Store);
        app.MapPut("/admin/services/{name}/registrations", context => RegisterAsync(context, options, changes, adminHash, writes, logger));
        app.MapDelete("/admin/services/{name}/registrations", context => DeregisterAsync(context, options, changes, adminHash, logger));
        app.MapGet("/admin/services/{name}/registrations", context => ListAsync(context, options, (string)context.Request.RouteValues["name"]!));
        app.MapGet("/admin/registrations", context => ListAsync(context, options, null));
    }

    /// <summary>True for the requests a registration token may make; the admin API lets them past its admin-token check.</summary>
    public static bool TakesServiceTokens(HttpRequest request)
    {
        if (!HttpMethods.IsPut(request.Method) && !HttpMethods.IsDelete(request.Method))
        {
            return false;
        }

        var path = request.Path.Value ?? "";
        const string prefix = "/admin/services/";
        const string suffix = "/registrations";
        return path.StartsWith(prefix, StringComparison.Ordinal) && path.EndsWith(suffix, StringComparison.Ordinal)
            && path.Length > prefix.Length + suffix.Length && path.IndexOf('/', prefix.Length) == path.Length - suffix.Length;
    }

    private static async Task RegisterAsync(HttpContext context, AdminApiOptions options, ConfigChanges changes, byte[] adminHash, RegistrationWrites writes, ILogger logger)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var (owner, registration, refusal) = await AuthorizeAsync(context, options, changes, adminHash, name).ConfigureAwait(false);
        if (refusal is not null)
        {
            await refusal.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
        if (problem is null && body!.FirstOrDefault(p => p.Key is not ("url" or "ttl")) is { Key: { } unknown })
        {
            problem = AdminRequests.BadParameter($"'{unknown}' is not a registration property; send {{\"url\": \"http://10.1.2.3:8080\", \"ttl\": \"30s\"}} ('ttl' optional).");
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var errors = new List<(string Path, string Message)>();
        Uri? url = null;
        if (body!["url"] is not JsonValue urlValue || urlValue.GetValueKind() != JsonValueKind.String)
        {
            errors.Add(("url", "required: the address this instance serves on, e.g. \"http://10.1.2.3:8080\"."));
        }
        else if (!RegistrationUrl.TryParse(urlValue.GetValue<string>(), registration!, out url, out var error))
        {
            errors.Add(("url", error!));
        }

        var ttl = registration!.Ttl;
        if (body["ttl"] is { } ttlNode)
        {
            if (ReadTtl(ttlNode) is { } asked && asked >= RegistrationConfig.MinTtl)
            {
                // More than the service allows gets the most it allows: the answer's ttl says what was granted.
                ttl = asked > registration.MaxTtl ? registration.MaxTtl : asked;
            }
            else
            {
                errors.Add(("ttl", $"must be a duration of at least {Units.FormatDuration(RegistrationConfig.MinTtl)}, such as \"30s\" (a number is seconds)."));
            }
        }

        if (errors.Count > 0)
        {
            await Invalid(errors).WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var now = options.Time.GetUtcNow();
        var expiresAt = now + ttl;
        var text = Text(url!);
        // Not cancellable: a heartbeat that was read should be recorded even if the client gave up on the answer.
        await writes.WriteAsync(new Registration(name, text, owner!, expiresAt)).ConfigureAwait(false);
        LogRegistered(logger, name, text, owner!, ttl);
        // A new target is routable here when the answer arrives. A heartbeat of one this node routes for a while yet
        // (two reads' time) waits for no read: the next periodic one takes its new expiry.
        if (options.Registrations is not { } follower || !follower.RoutesUntil(name, text, now + 2 * follower.Interval))
        {
            await NudgeAsync(options, context.RequestAborted).ConfigureAwait(false);
        }
        context.Response.Headers.CacheControl = "no-store";
        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["service"] = name,
            ["url"] = text,
            ["owner"] = owner,
            ["ttl"] = Units.FormatDuration(ttl),
            ["expiresAt"] = expiresAt,
        }).ConfigureAwait(false);
    }

    private static async Task DeregisterAsync(HttpContext context, AdminApiOptions options, ConfigChanges changes, byte[] adminHash, ILogger logger)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var (_, _, refusal) = await AuthorizeAsync(context, options, changes, adminHash, name).ConfigureAwait(false);
        if (refusal is not null)
        {
            await refusal.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        // Not checked against allowedNetworks: a target registered before they narrowed can still leave.
        var given = context.Request.Query["url"].ToString();
        if (!RegistrationUrl.TryParse(given, new RegistrationConfig(), out var url, out var error))
        {
            await Invalid([("url", given.Length == 0 ? "required: the registered address, as in ?url=http://10.1.2.3:8080." : error!)]).WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var text = Text(url!);
        if (!await options.Store.DeleteRegistrationAsync(name, text, CancellationToken.None).ConfigureAwait(false))
        {
            await AdminProblem.NotFound($"A registration of '{text}' for service '{name}'").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        LogDeregistered(logger, name, text);
        await NudgeAsync(options, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task ListAsync(HttpContext context, AdminApiOptions options, string? service)
    {
        // Reached with the admin token only: the admin API's check lets registration tokens past for PUT and DELETE alone.
        var rows = await options.Store.ListRegistrationsAsync(options.Time.GetUtcNow(), context.RequestAborted).ConfigureAwait(false);
        var items = new JsonArray();
        foreach (var row in rows.Where(r => service is null || r.Service == service))
        {
            items.Add(new JsonObject { ["service"] = row.Service, ["url"] = row.Url, ["owner"] = row.Owner, ["expiresAt"] = row.ExpiresAt });
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["items"] = items }).ConfigureAwait(false);
    }

    /// <summary>
    /// Who is calling (owner), and the service's registration settings; or the problem that refuses the call: 401 for no
    /// or an unknown token, 404 for an unknown service (admin only), 403 for a service that takes no registrations or a
    /// token of another service.
    /// </summary>
    private static async Task<(string? Owner, RegistrationConfig? Settings, AdminProblem? Refusal)> AuthorizeAsync(
        HttpContext context, AdminApiOptions options, ConfigChanges changes, byte[] adminHash, string name)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        var admin = AdminToken.Matches(authorization, adminHash);
        var presented = admin ? null : AdminToken.BearerSha256(authorization);
        if (!admin && presented is null)
        {
            return (null, null, Unauthorized(context));
        }

        var config = await changes.CurrentConfigAsync(context.RequestAborted).ConfigureAwait(false);
        if (config is null)
        {
            return (null, null, new AdminProblem(StatusCodes.Status503ServiceUnavailable, "config-unavailable", "Configuration unavailable",
                "The store's current revision does not load, so registrations cannot be checked; fix the configuration through the admin API."));
        }

        string? tokenService = null;
        if (!admin)
        {
            tokenService = ServiceOfToken(config, presented!);
            if (tokenService is null)
            {
                // Not a service's token: a named admin token with scope write acts as the admin token (asked of the store
                // only now, so a heartbeat with its service's token costs no more than before).
                var (named, _) = await AdminToken.FindNamedAsync(options.Store, authorization, options.Time, context.RequestAborted).ConfigureAwait(false);
                if (named is not { Scope: AdminTokenScope.Write })
                {
                    return (null, null, named is null ? Unauthorized(context) : AdminCaller.Refusal(context.Request, named));
                }

                AdminCaller.Set(context, named);
                admin = true;
            }
        }

        if (!config.Services.TryGetValue(name, out var service))
        {
            return admin
                ? (null, null, AdminProblem.NotFound($"service '{name}'"))
                : (null, null, Forbidden($"This token registers targets of service '{tokenService}' only."));
        }

        if (service.Registration is not { } registration)
        {
            return (null, null, Forbidden($"Service '{name}' takes no registrations; give it a 'registration' section (docs/configuration.md) to allow them."));
        }

        if (!admin && tokenService != name)
        {
            return (null, null, Forbidden($"This token registers targets of service '{tokenService}' only, not of '{name}'."));
        }

        return (admin ? AdminOwner : TokenOwner, registration, null);
    }

    // Every hash is compared, each in constant time, so the answer's timing does not tell which service a token is near.
    private static string? ServiceOfToken(GatehouseConfig config, byte[] presented)
    {
        string? found = null;
        foreach (var (name, service) in config.Services)
        {
            foreach (var hash in service.Registration?.TokenSha256 ?? [])
            {
                if (CryptographicOperations.FixedTimeEquals(presented, Convert.FromHexString(hash)))
                {
                    found = name;
                }
            }
        }

        return found;
    }

    private static TimeSpan? ReadTtl(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.String => Units.TryParseDuration(node.GetValue<string>(), out var d) ? d : null,
        JsonValueKind.Number when node.AsValue().TryGetValue<double>(out var seconds) && seconds is > 0 and < 1e9 => TimeSpan.FromSeconds(seconds),
        _ => null,
    };

    // scheme://host[:port] without a trailing slash, the form stored and listed.
    private static string Text(Uri url) => url.GetLeftPart(UriPartial.Authority);

    private static async Task NudgeAsync(AdminApiOptions options, CancellationToken cancellationToken)
    {
        if (options.Registrations is not { } follower)
        {
            return;
        }

        // So that this process's gateway routes to the target when the answer arrives; bounded, since the store is slow.
        try
        {
            await follower.RefreshAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private static AdminProblem Unauthorized(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"gatehouse-admin\"";
        return new AdminProblem(StatusCodes.Status401Unauthorized, "admin-unauthorized", "Token required",
            "Send the admin token or one of the service's registration tokens as 'Authorization: Bearer TOKEN'.");
    }

    private static AdminProblem Forbidden(string detail) =>
        new(StatusCodes.Status403Forbidden, "registration-forbidden", "Registration not allowed", detail);

    private static AdminProblem Invalid(IReadOnlyList<(string Path, string Message)> errors)
    {
        var list = new JsonArray();
        foreach (var (path, message) in errors)
        {
            list.Add(new JsonObject { ["path"] = path, ["message"] = message });
        }

        return new AdminProblem(StatusCodes.Status422UnprocessableEntity, "invalid-registration", "Invalid registration",
            $"The registration is not valid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}); nothing was registered. Fix what 'errors' lists and send it again.",
            new JsonObject { ["errors"] = list });
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Service {Service}: {Url} registered by {Owner} for {Ttl}")]
    private static partial void LogRegistered(ILogger logger, string service, string url, string owner, TimeSpan ttl);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: {Url} deregistered")]
    private static partial void LogDeregistered(ILogger logger, string service, string url);
}
