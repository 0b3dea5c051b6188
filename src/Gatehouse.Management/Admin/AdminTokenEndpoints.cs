using System.Globalization;
using System.Text.Json.Nodes;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary>
/// Named admin tokens, managed with the admin token only (<see cref="AdminCaller.Refusal"/>): <c>POST /admin/tokens</c>
/// issues one (shown once; issuing a name again replaces its token), <c>GET /admin/tokens</c> lists them (never a token),
/// <c>DELETE /admin/tokens/{name}</c> revokes one. Each has a scope (<c>read</c>: GET and HEAD; <c>write</c>: everything
/// but managing tokens) and may expire; the audit log names it as <c>admin-api:NAME</c>.
/// </summary>
internal static class AdminTokenEndpoints
{
    public static void Map(IEndpointRouteBuilder app, AdminApiOptions options)
    {
        app.MapGet("/admin/tokens", context => ListAsync(context, options));
        app.MapPost("/admin/tokens", context => IssueAsync(context, options));
        app.MapDelete("/admin/tokens/{name}", context => RevokeAsync(context, options, (string)context.Request.RouteValues["name"]!));
    }

    private static async Task ListAsync(HttpContext context, AdminApiOptions options)
    {
        var items = new JsonArray();
        var now = options.Time.GetUtcNow();
        foreach (var token in await options.Store.ListAdminTokensAsync(context.RequestAborted).ConfigureAwait(false))
        {
            items.Add(Describe(token, now));
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["items"] = items }).ConfigureAwait(false);
    }

    private static async Task IssueAsync(HttpContext context, AdminApiOptions options)
    {
        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var name = body!["name"] is JsonValue nameValue && nameValue.TryGetValue<string>(out var text) ? text : null;
        if (name is null || !Nodes.NodeEndpoints.TokenName().IsMatch(name))
        {
            await AdminRequests.BadParameter("'name' is required: 1 to 100 letters, digits, '.', '_' or '-' (one token per pipeline, person or dashboard).").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var scopeText = body["scope"] is JsonValue scopeValue && scopeValue.TryGetValue<string>(out var s) ? s : null;
        if (scopeText is not ("read" or "write"))
        {
            await AdminRequests.BadParameter("'scope' is required: \"read\" (GET and HEAD only) or \"write\" (everything but managing admin tokens).").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        DateTimeOffset? expires = null;
        if (body["expires"] is { } expiresNode)
        {
            if (expiresNode is not JsonValue expiresValue || !expiresValue.TryGetValue<string>(out var expiresText)
                || !DateTimeOffset.TryParse(expiresText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) || at <= options.Time.GetUtcNow())
            {
                await AdminRequests.BadParameter("'expires', when given, is a time in the future (RFC 3339, e.g. \"2027-06-30T00:00:00Z\"); without it the token works until it is revoked.").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            expires = at.ToUniversalTime();
        }

        var scope = scopeText == "read" ? AdminTokenScope.Read : AdminTokenScope.Write;
        var token = Model.Access.ApiKeyHash.NewKey(AdminToken.Prefix);
        await options.Store.SetAdminTokenAsync(name, Model.Access.ApiKeyHash.Sha256Hex(token), scope, expires, AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
        var answer = Describe(new AdminApiToken(name, scope, options.Time.GetUtcNow(), expires), options.Time.GetUtcNow());
        answer["token"] = token;
        await AdminRequests.WriteJsonAsync(context, answer, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task RevokeAsync(HttpContext context, AdminApiOptions options, string name)
    {
        if (!await options.Store.DeleteAdminTokenAsync(name, AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false))
        {
            await AdminProblem.NotFound($"Admin token '{name}'").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static JsonObject Describe(AdminApiToken token, DateTimeOffset now) => new()
    {
        ["name"] = token.Name,
        ["scope"] = token.Scope == AdminTokenScope.Read ? "read" : "write",
        ["createdAt"] = token.CreatedAt,
        ["expiresAt"] = token.ExpiresAt,
        ["expired"] = token.ExpiresAt is { } at && at <= now,
    };

}
