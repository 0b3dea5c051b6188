using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Consumers;

/// <summary>
/// The searches of accounts and applications read from a query string, the same way for the console's pages and the admin
/// API (<c>GET /admin/portal/accounts</c> and <c>/applications</c>): an empty parameter is no condition; a state that is
/// not one, or a value longer than <see cref="MaxLength"/>, is refused with a sentence that says what is allowed.
/// </summary>
internal static class ConsumerSearchQuery
{
    /// <summary>The longest value of any search parameter: an email address's most (RFC 5321), above any title or id.</summary>
    public const int MaxLength = 254;

    /// <summary><c>email</c> (a prefix of the address, any case) and <c>state</c>.</summary>
    public static (AccountSearch? Search, string? Error) Accounts(IQueryCollection query)
    {
        var (state, error) = State<AccountState>(query);
        var email = Text(query, "email", ref error);
        return error is null ? (new AccountSearch(state, email is null ? null : ConsumerService.NormalizeEmail(email)), null) : (null, error);
    }

    /// <summary><c>id</c> (exact), <c>title</c> (a prefix, any case), <c>account</c> (an id or an address), <c>plan</c> and <c>state</c>.</summary>
    public static (ApplicationSearch? Search, string? Error) Applications(IQueryCollection query)
    {
        var (state, error) = State<ApplicationState>(query);
        var search = new ApplicationSearch(Text(query, "id", ref error), Text(query, "title", ref error), Text(query, "account", ref error), Text(query, "plan", ref error), state);
        return error is null ? (search, null) : (null, error);
    }

    // A parameter given twice reads as both values with a comma, which is then a value that matches nothing, or too long.
    private static string? Text(IQueryCollection query, string name, ref string? error)
    {
        var text = query[name].ToString().Trim();
        if (text.Length > MaxLength)
        {
            error ??= $"'{name}' is at most {MaxLength} characters; search by a shorter part of it.";
        }

        return text.Length == 0 ? null : text;
    }

    private static (T? State, string? Error) State<T>(IQueryCollection query)
        where T : struct, Enum
    {
        var text = query["state"].ToString();
        if (text.Length == 0)
        {
            return (null, null);
        }

        var names = Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToList();
        return names.Contains(text, StringComparer.Ordinal)
            ? (Enum.Parse<T>(text, ignoreCase: true), null)
            // Never the value itself in full: a page shows the sentence, and the value may be anything of any length.
            : (null, $"'state' is one of {string.Join(", ", names)}; '{(text.Length <= 40 ? text : text[..40] + "…")}' is not.");
    }
}
