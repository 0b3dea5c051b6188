using System.Security.Cryptography;
using System.Text;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Access;

namespace Gatehouse.Management.Admin;

/// <summary>
/// The bearer token of the admin API. Only its SHA-256 is kept: in the store's settings when it was generated,
/// nowhere when it comes from <c>GATEHOUSE_ADMIN_TOKEN</c>.
/// </summary>
public static class AdminToken
{
    /// <summary>The environment variable that sets the admin token.</summary>
    public const string EnvironmentVariable = "GATEHOUSE_ADMIN_TOKEN";

    /// <summary>The settings key of the generated token's hash.</summary>
    public const string SettingKey = "admin.token.sha256";

    /// <summary>Prefix of generated admin tokens.</summary>
    public const string Prefix = "gha_";

    /// <summary>
    /// The hash to check admin requests against. <paramref name="fromEnvironment"/> wins when set; otherwise the
    /// stored hash; otherwise a new token is generated, its hash stored, and the plaintext returned in
    /// <c>Generated</c> for the caller to show once (it is not kept anywhere).
    /// </summary>
    public static async Task<(string Sha256, string? Generated)> ResolveAsync(IConfigStore store, string? fromEnvironment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return (ApiKeyHash.Sha256Hex(fromEnvironment), null);
        }

        if (await store.GetSettingAsync(SettingKey, cancellationToken).ConfigureAwait(false) is { } stored && ApiKeyHash.IsSha256Hex(stored))
        {
            return (stored, null);
        }

        var token = ApiKeyHash.NewKey(Prefix);
        var hash = ApiKeyHash.Sha256Hex(token);
        await store.SetSettingAsync(SettingKey, hash, cancellationToken).ConfigureAwait(false);
        return (hash, token);
    }

    /// <summary>
    /// The named token (<c>POST /admin/tokens</c>) in <c>Authorization: Bearer TOKEN</c>, looked up in the store at every
    /// request so that one revoked on any node stops at once everywhere; null when there is none or it has expired (then
    /// <c>Expired</c> names it, for the 401 to say so).
    /// </summary>
    internal static async Task<(AdminApiToken? Token, AdminApiToken? Expired)> FindNamedAsync(IConfigStore store, string? authorization, TimeProvider time, CancellationToken cancellationToken)
    {
        if (BearerSha256(authorization) is not { } presented
            || await store.FindAdminTokenAsync(Convert.ToHexStringLower(presented), cancellationToken).ConfigureAwait(false) is not { } token)
        {
            return (null, null);
        }

        return token.ExpiresAt is { } expires && expires <= time.GetUtcNow() ? (null, token) : (token, null);
    }

    /// <summary>True when <paramref name="authorization"/> is <c>Bearer TOKEN</c> and TOKEN hashes to <paramref name="expectedSha256"/>; constant time in the token.</summary>
    internal static bool Matches(string? authorization, byte[] expectedSha256) =>
        BearerSha256(authorization) is { } presented && CryptographicOperations.FixedTimeEquals(presented, expectedSha256);

    /// <summary>The SHA-256 of the token in <c>Authorization: Bearer TOKEN</c>; null when the header is not that.</summary>
    internal static byte[]? BearerSha256(string? authorization)
    {
        const string scheme = "Bearer ";
        return authorization is not null && authorization.Length > scheme.Length && authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
            ? SHA256.HashData(Encoding.UTF8.GetBytes(authorization[scheme.Length..].Trim()))
            : null;
    }
}
