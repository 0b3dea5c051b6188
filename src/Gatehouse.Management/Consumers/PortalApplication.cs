using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Management.Consumers;

/// <summary>An application made in the portal, as the store keeps it (the gateway sees its <see cref="ConsumerApplication"/>).</summary>
/// <param name="Id">Generated (<c>app-…</c>); what services see in <c>Gatehouse-Application</c>.</param>
/// <param name="Account">The owning account's id.</param>
/// <param name="Title">The consumer's name for it.</param>
/// <param name="Description">The consumer's description; may be empty.</param>
/// <param name="Plan">The plan it subscribes to.</param>
/// <param name="State">Its own state; an account that is suspended suspends it too (<see cref="EffectiveState"/>).</param>
/// <param name="Keys">Its API keys, as hashes.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="Seq">The consumer change that last wrote it; an update names the one it read.</param>
/// <param name="Deleted">A tombstone, kept so that nodes learn of the deletion.</param>
/// <param name="AccountState">Its account's state when read.</param>
/// <param name="ClientIds">OAuth client ids whose tokens mean this application; null for none.</param>
/// <param name="AllowedAddresses">Addresses and CIDR ranges its owner allows its credentials from, on top of its plan's
/// filter; null for any.</param>
public sealed record PortalApplication(
    string Id,
    string Account,
    string Title,
    string Description,
    string Plan,
    ApplicationState State,
    IReadOnlyList<ConsumerKey> Keys,
    DateTimeOffset CreatedAt,
    long Seq = 0,
    bool Deleted = false,
    AccountState AccountState = AccountState.Active,
    IReadOnlyList<string>? ClientIds = null,
    IReadOnlyList<string>? AllowedAddresses = null)
{
    /// <summary>What the gateway enforces: suspended when its account is, otherwise its own state.</summary>
    public ApplicationState EffectiveState => AccountState == AccountState.Suspended ? ApplicationState.Suspended : State;

    /// <summary>The gateway's view: id, account, plan, effective state, key hashes, client ids and allowed addresses.</summary>
    public ConsumerApplication ToConsumer() =>
        new(Id, Account, Plan, EffectiveState, Keys, ClientIds is { Count: > 0 } ? ClientIds : null, AllowedAddresses is { Count: > 0 } ? AllowedAddresses : null);
}

/// <summary>One row of the consumer change log: who changed which account or application, and how (no secrets).</summary>
public sealed record ConsumerChange(long Seq, DateTimeOffset At, string Actor, string Action, string Kind, string Name, string? Before, string? After);

/// <summary>
/// An administrator of the console: <c>admin</c> may change things, <c>viewer</c> only look. With two-step sign-in on,
/// <see cref="TotpSecret"/> is the authenticator's secret as Data Protection protected it, <see cref="TotpStep"/> the
/// last time step a code was accepted for (a code is never taken twice) and <see cref="RecoveryCodes"/> the SHA-256 of
/// each one-time recovery code not yet used.
/// </summary>
/// <param name="SessionsEnded">How many times the user's sessions were ended without a change of theirs (a single sign-on
/// provider's back-channel logout); part of their sessions' stamp.</param>
public sealed record AdminUser(string Email, string PasswordHash, AdminRole Role, DateTimeOffset CreatedAt,
    string? TotpSecret = null, long TotpStep = 0, IReadOnlyList<string>? RecoveryCodes = null, long SessionsEnded = 0)
{
    /// <summary>True when signing in also takes a code from an authenticator app (or a recovery code).</summary>
    public bool TwoStep => TotpSecret is not null;
}

/// <summary>What an administrator may do in the console.</summary>
public enum AdminRole
{
    /// <summary>Everything.</summary>
    Admin,
    /// <summary>Read only.</summary>
    Viewer,
}
