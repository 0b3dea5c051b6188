using System.Globalization;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Consumers;

// Portal accounts' own API tokens: made and revoked on the portal's pages (never through the API itself, so a leaked
// token cannot make more), used by scripts against the portal's JSON API (/api/v1) for the account's applications.
internal sealed partial class ConsumerService
{
    /// <summary>The portal setting that turns consumers' API tokens off (on unless it is <c>false</c>).</summary>
    public const string ApiTokensSetting = "portal.apiTokens";

    /// <summary>Prefix of portal API tokens (application keys are <c>ghk_</c>, admin tokens <c>gha_</c>).</summary>
    public const string TokenPrefix = "ghc_";

    /// <summary>Most tokens one account may hold at once.</summary>
    public const int MaxTokensPerAccount = 20;

    /// <summary>How often a token's last use is written at most.</summary>
    private static readonly TimeSpan TouchEvery = TimeSpan.FromHours(1);

    /// <summary>True unless an administrator turned consumers' API tokens off.</summary>
    public Task<bool> ApiTokensAsync(CancellationToken cancellationToken) => SwitchAsync(ApiTokensSetting, cancellationToken);

    /// <summary>
    /// Makes a token for <paramref name="account"/>: <paramref name="name"/> (letters, digits, <c>.</c>, <c>_</c>, <c>-</c>; 1–64,
    /// unique in the account), <paramref name="scope"/> <c>read</c> or <c>write</c>, expiring after <paramref name="lifetime"/>
    /// (null: never). The token itself is in this result only.
    /// </summary>
    public async Task<(string? Token, PortalToken? Info, AdminProblem? Problem)> CreateTokenAsync(
        ConsumerAccount account, string name, string scope, TimeSpan? lifetime, string actor, CancellationToken cancellationToken)
    {
        name = name.Trim();
        if (!await ApiTokensAsync(cancellationToken).ConfigureAwait(false))
        {
            return (null, null, TokensOff());
        }

        if (name.Length is 0 or > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            return (null, null, Invalid("name", "Name the token with 1 to 64 letters, digits, dots, underscores or hyphens (for example ci-deploy)."));
        }

        PortalTokenScope? chosen = scope switch { "read" => PortalTokenScope.Read, "write" => PortalTokenScope.Write, _ => null };
        if (chosen is not { } parsed)
        {
            return (null, null, Invalid("scope", "The scope is read (look only) or write (also change applications and keys)."));
        }

        var token = ApiKeyHash.NewKey(TokenPrefix);
        var now = _time.GetUtcNow();
        var info = new PortalToken(account.Id, name, ApiKeyHash.DisplayPrefix(token), parsed, now, lifetime is { } l ? now + l : null);
        return await _store.AddPortalTokenAsync(info, ApiKeyHash.Sha256Hex(token), MaxTokensPerAccount, actor, cancellationToken).ConfigureAwait(false) switch
        {
            PortalTokenAdded.Added => (token, info, null),
            PortalTokenAdded.NameTaken => (null, null, new AdminProblem(StatusCodes.Status409Conflict, "token-name-taken", "Name taken",
                $"You already have a token named {name}; revoke it first or choose another name.", new System.Text.Json.Nodes.JsonObject { ["field"] = "name" })),
            PortalTokenAdded.TooMany => (null, null, new AdminProblem(StatusCodes.Status409Conflict, "too-many-tokens", "Too many tokens",
                string.Create(CultureInfo.InvariantCulture, $"An account may hold {MaxTokensPerAccount} tokens; revoke one you no longer use first."))),
            _ => (null, null, AdminProblem.NotFound("The account")),
        };
    }

    /// <summary>Revokes the account's token <paramref name="name"/>: it stops working at once, on every node.</summary>
    public async Task<AdminProblem?> RevokeTokenAsync(string accountId, string name, string actor, CancellationToken cancellationToken) =>
        await _store.DeletePortalTokenAsync(accountId, name, actor, cancellationToken).ConfigureAwait(false) ? null : AdminProblem.NotFound($"A token named '{name}'");

    /// <summary>
    /// The account and token of <c>Authorization: Bearer TOKEN</c>, or the problem that refuses it: 401 for no token, an
    /// unknown, revoked or expired one (which says which), 403 when tokens are off or the account may not sign in. The
    /// store is asked at every call, so a token revoked or an account suspended on any node stops at once.
    /// </summary>
    public async Task<(ConsumerAccount? Account, PortalToken? Token, AdminProblem? Problem)> AuthenticateTokenAsync(string? authorization, CancellationToken cancellationToken)
    {
        if (AdminToken.BearerSha256(authorization) is not { } presented)
        {
            return (null, null, Unauthorized("token-missing", "No token",
                "Send Authorization: Bearer TOKEN, with a token made on the portal's API tokens page (/tokens)."));
        }

        var hash = Convert.ToHexStringLower(presented);
        var token = await _store.FindPortalTokenAsync(hash, cancellationToken).ConfigureAwait(false);
        if (token is null)
        {
            return (null, null, Unauthorized("token-invalid", "Unknown token", "This token is not one of the portal's: it was revoked, or is mistyped."));
        }

        var now = _time.GetUtcNow();
        if (token.ExpiresAt is { } expires && expires <= now)
        {
            return (null, null, Unauthorized("token-expired", "Token expired",
                $"The token {token.Name} expired at {expires.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}; make a new one on the portal's API tokens page."));
        }

        if (!await ApiTokensAsync(cancellationToken).ConfigureAwait(false))
        {
            return (null, null, TokensOff());
        }

        var account = await _store.GetAccountAsync(token.Account, cancellationToken).ConfigureAwait(false);
        if (account is null)
        {
            return (null, null, Unauthorized("token-invalid", "Unknown token", "This token is not one of the portal's: it was revoked, or is mistyped."));
        }

        if (account.State is AccountState.Suspended or AccountState.Unverified)
        {
            return (null, null, account.State == AccountState.Suspended ? SuspendedAccount(account.Email)
                : new AdminProblem(StatusCodes.Status403Forbidden, "account-unverified", "Address not confirmed", "The account's address is not confirmed yet; open the link mailed to it."));
        }

        if (token.LastUsedAt is not { } last || now - last >= TouchEvery)
        {
            await _store.TouchPortalTokenAsync(hash, now, cancellationToken).ConfigureAwait(false);
            token = token with { LastUsedAt = now };
        }

        return (account, token, null);
    }

    private static AdminProblem TokensOff() => new(StatusCodes.Status403Forbidden, "tokens-off", "API tokens are off",
        "This portal's operators have turned consumers' API tokens off; use the portal's pages.");

    private static AdminProblem Unauthorized(string slug, string title, string detail) => new(StatusCodes.Status401Unauthorized, slug, title, detail);
}
