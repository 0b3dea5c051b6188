using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Mcp;

/// <summary>
/// Authenticates requests to <c>/mcp</c> before the MCP server sees them: the application's API key (in the key header,
/// or as <c>Authorization: Bearer KEY</c>), or none for the anonymous plan. Refusals are 401/403 problem+json, as on
/// the proxy; the caller's plan is handed to the tool handlers as an <see cref="McpCaller"/> feature.
/// </summary>
internal sealed class McpGate(GatewayRuntime runtime)
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var requestId = RequestIds.New();
        if (runtime.Current.Access is not { } access)
        {
            await ProblemWriter.WriteAsync(context, StatusCodes.Status404NotFound, "no-route", "No route",
                "The MCP endpoint serves plans as tool lists, and this configuration has no plans; add plans, or turn 'gateway.mcp' off.", requestId).ConfigureAwait(false);
            return;
        }

        var engine = runtime.Engine;
        var resourceAuth = runtime.Current.Config.Gateway.McpAuthorization;
        string? header = null;
        string? value = null;
        string? clientId = null;
        var caller = Caller.Anonymous;
        if (context.Request.Headers[access.KeyHeader] is { Count: > 0 } keys)
        {
            (header, value) = (access.KeyHeader, keys.ToString());
            caller = keys.Count == 1 ? engine.AuthenticateKey(access, value, CredentialKind.ApiKeyHeader) : Caller.Invalid(CredentialKind.ApiKeyHeader);
        }
        else if (context.Request.Headers.Authorization is { Count: 1 } authorization && authorization.ToString() is { Length: > 7 } text
            && text.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = text[7..].Trim();
            if (resourceAuth is not null && token.AsSpan().Count('.') == 2)
            {
                // A token for this resource (RFC 9728, the MCP authorization spec): tool calls carry the application, not the token.
                (caller, clientId) = await engine.AuthenticateResourceTokenAsync(access, token, resourceAuth.Resource,
                    resourceAuth.ServersOf(runtime.Current.Config.Gateway.Jwt) as IReadOnlyCollection<string> ?? []).ConfigureAwait(false);
            }
            else
            {
                // Tool calls present it again in the key header: the proxy reads Bearer tokens as JWTs.
                (header, value) = (access.KeyHeader, token);
                caller = engine.AuthenticateKey(access, value, CredentialKind.Bearer);
            }
        }

        var plan = caller.Kind switch
        {
            CallerKind.Application => caller.Application!.Plan,
            CallerKind.Anonymous => access.Anonymous,
            _ => null,
        };
        if (plan is null)
        {
            // With mcpAuthorization, the challenge points clients at the protected-resource metadata (RFC 9728), where
            // they find the authorization server to get a token from.
            var challenge = resourceAuth is null
                ? access.WwwAuthenticate
                : $"Bearer resource_metadata=\"{McpResourceMetadata.UrlOf(resourceAuth.Resource)}\"{(caller.Credential == CredentialKind.Bearer ? ", error=\"invalid_token\"" : "")}";
            await ProblemWriter.WriteAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
                caller.Kind == CallerKind.Anonymous
                    ? $"The MCP endpoint needs your application's API key in {access.KeyHeader} (or as a Bearer token){(resourceAuth is null ? "" : ", or an access token for this resource from its authorization server")}."
                    : caller.Credential == CredentialKind.Bearer && resourceAuth is not null
                        ? "The bearer token is not valid here (unknown issuer or key, bad signature, expired, or not for this resource); get a token for this resource, or use a current API key."
                        : "The API key is not valid (unknown, revoked or expired); use a current key of your application.",
                requestId, [new(HeaderNames.WWWAuthenticate, challenge)]).ConfigureAwait(false);
            return;
        }

        if (caller.Application is { State: not Model.Config.ApplicationState.Live } application)
        {
            await ProblemWriter.WriteAsync(context, StatusCodes.Status403Forbidden, "forbidden", "Forbidden",
                $"Application '{application.Id}' is {application.State.ToString().ToLowerInvariant()}; it can call nothing until it is live.", requestId).ConfigureAwait(false);
            return;
        }

        context.Features.Set(new McpCaller(plan, header, value, clientId, caller.Scopes));
        await next(context).ConfigureAwait(false);
    }
}
