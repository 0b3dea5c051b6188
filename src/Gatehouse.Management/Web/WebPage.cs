using System.Security.Claims;

namespace Gatehouse.Management.Web;

/// <summary>What every page of the portal and the console needs from its request: the antiforgery token for its forms, who is signed in, and notices.</summary>
/// <param name="Site">"portal" or "console": which navigation the shell shows.</param>
/// <param name="Title">The page's title (the document title is "Title · Site").</param>
/// <param name="Csrf">The antiforgery form token of this request.</param>
/// <param name="User">The signed-in user's display name (email), or null.</param>
/// <param name="Role">The console user's role (<c>admin</c> or <c>viewer</c>); null in the portal.</param>
/// <param name="Notice">A line to show above the content (a result of the last action), or null.</param>
public sealed record WebPage(string Site, string Title, string Csrf, string? User, string? Role = null, string? Notice = null)
{
    /// <summary>The form field the antiforgery token travels in.</summary>
    public const string CsrfField = "__RequestVerificationToken";

    public bool CanChange => Role is null or "admin";

    /// <summary>
    /// The page's own local address, path and query, where a sign-in link on it brings its reader back to; null where
    /// there is none to come back to (a form's answer, the sign-in pages themselves).
    /// </summary>
    public string? Here { get; init; }

    internal static string? Claim(ClaimsPrincipal principal, string type) => principal.Identity?.IsAuthenticated == true ? principal.FindFirst(type)?.Value : null;
}
