using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Admin;

/// <summary>
/// Who made an admin API request: the admin token (<c>GATEHOUSE_ADMIN_TOKEN</c>, or the one generated at the first start),
/// or a named token issued with <c>POST /admin/tokens</c>, which the admin API's check leaves on the request.
/// </summary>
internal static class AdminCaller
{
    private const string Key = "gatehouse.admin.token";

    /// <summary>Records that the request came with the named token <paramref name="token"/>.</summary>
    public static void Set(HttpContext context, AdminApiToken token) => context.Items[Key] = token;

    /// <summary>The named token the request came with; null for the admin token (or none).</summary>
    public static AdminApiToken? Named(HttpContext context) => context.Items.TryGetValue(Key, out var value) ? value as AdminApiToken : null;

    /// <summary>The audit log's actor: <c>admin-api</c> for the admin token, <c>admin-api:NAME</c> for a named token.</summary>
    public static string Actor(HttpContext context) => Named(context) is { } token ? $"{ResourceEndpoints.Actor}:{token.Name}" : ResourceEndpoints.Actor;

    /// <summary>
    /// The refusal (403) of what a named token may not do: anything but GET and HEAD with scope <c>read</c>, and issuing,
    /// listing or revoking admin tokens with any scope (only the admin token manages them); null when it may.
    /// </summary>
    public static AdminProblem? Refusal(HttpRequest request, AdminApiToken token)
    {
        if (request.Path.StartsWithSegments("/admin/tokens"))
        {
            return new AdminProblem(StatusCodes.Status403Forbidden, "admin-forbidden", "Admin token required",
                $"Admin tokens are issued, listed and revoked with the admin token (GATEHOUSE_ADMIN_TOKEN), not with a named token such as '{token.Name}'.");
        }

        if (token.Scope == AdminTokenScope.Read && !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return new AdminProblem(StatusCodes.Status403Forbidden, "admin-forbidden", "Read-only token",
                $"The token '{token.Name}' has scope read: it may GET, not {request.Method}. Use a token with scope write (POST /admin/tokens with the admin token).");
        }

        return null;
    }
}
