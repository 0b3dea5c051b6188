namespace Gatehouse.Management.Consumers;

/// <summary>A developer (or organisation) who signed up in the portal. Its password is kept only as a <c>PasswordHasher</c> hash.</summary>
/// <param name="Id">Generated (<c>acc-…</c>); never shown as a login name.</param>
/// <param name="Email">Normalized (trimmed, lower case); unique.</param>
/// <param name="Title">The name shown in the portal and the console.</param>
/// <param name="PasswordHash">ASP.NET Core Identity's hash; null for an account without a password yet.</param>
/// <param name="State">Whether it may create applications.</param>
/// <param name="Stamp">Changes whenever the password or state does: sessions made before are refused.</param>
/// <param name="CreatedAt">When it signed up.</param>
/// <param name="Version">Optimistic concurrency: an update names the version it read.</param>
public sealed record ConsumerAccount(string Id, string Email, string Title, string? PasswordHash, AccountState State, string Stamp, DateTimeOffset CreatedAt, long Version);

/// <summary>The life cycle of a consumer account.</summary>
public enum AccountState
{
    /// <summary>May log in and create applications.</summary>
    Active,
    /// <summary>May log in; waits for an administrator before creating applications (portal setting <c>accountApproval</c>).</summary>
    Pending,
    /// <summary>Stopped (or rejected) by an administrator: may not log in, and its applications are refused at the gateway.</summary>
    Suspended,
    /// <summary>Signed up while the portal confirms addresses (<c>emailVerification</c>), and not yet confirmed from the mailed link: may not log in.</summary>
    Unverified,
}

/// <summary>
/// A portal account's two-step sign-in: the authenticator's secret as Data Protection protected it, the last time step a
/// code was taken for, and the SHA-256 of each unused recovery code.
/// </summary>
public sealed record AccountTwoStep(string TotpSecret, long TotpStep, IReadOnlyList<string> RecoveryCodes);
