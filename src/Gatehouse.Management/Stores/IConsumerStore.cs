using Gatehouse.Management.Consumers;

namespace Gatehouse.Management.Stores;

/// <summary>
/// Consumer data (portal accounts, their applications and keys) and console users: outside the config revisions, so a
/// sign-up costs a few rows, not a revision. Every account or application change is one transaction that writes the
/// rows and one <see cref="ConsumerChange"/> with the next sequence number, taken under the consumer write lock so that
/// sequence numbers become visible in order. Nodes follow <see cref="ReadApplicationsSinceAsync"/>.
/// </summary>
public interface IConsumerStore
{
    /// <summary>An account by id; null when there is none.</summary>
    Task<ConsumerAccount?> GetAccountAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>An account by normalized email; null when there is none.</summary>
    Task<ConsumerAccount?> FindAccountByEmailAsync(string email, CancellationToken cancellationToken = default);

    /// <summary>Accounts ordered by id after <paramref name="after"/>, only those in <paramref name="state"/> when given.</summary>
    Task<IReadOnlyList<ConsumerAccount>> ListAccountsAsync(AccountState? state, string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Accounts that match <paramref name="search"/>, a page of at most <paramref name="limit"/> after the account
    /// <paramref name="after"/> (the id of the previous page's last one): in id order, or in address order when the
    /// search has an address.
    /// </summary>
    Task<IReadOnlyList<ConsumerAccount>> SearchAccountsAsync(AccountSearch search, string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>Inserts a new account; false (nothing written) when its email is taken.</summary>
    Task<bool> InsertAccountAsync(ConsumerAccount account, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces an account when its stored version is <paramref name="account"/>'s <c>Version</c> (it is stored with
    /// the next one); false when it changed meanwhile. A change of state re-announces its applications to the nodes.
    /// </summary>
    Task<bool> UpdateAccountAsync(ConsumerAccount account, string actor, string action, CancellationToken cancellationToken = default);

    /// <summary>
    /// Gives an account a new address and stamp (ending its sessions) and deletes its outstanding links; true when
    /// changed, false when another account has the address, null when there is no such account.
    /// </summary>
    Task<bool?> ChangeAccountEmailAsync(string id, string email, string stamp, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes an account that has no application left (its deleted applications' rows stay, for the nodes), with its
    /// links, and takes its address and name, and its applications' titles, out of the change log; false when it does
    /// not exist, still has an application, or is not in state <paramref name="onlyIf"/> when that is given.
    /// </summary>
    Task<bool> DeleteAccountAsync(string id, string actor, CancellationToken cancellationToken = default, AccountState? onlyIf = null);

    /// <summary>Unconfirmed accounts that signed up before <paramref name="signedUpBefore"/> and hold no link still valid at <paramref name="now"/>.</summary>
    Task<IReadOnlyList<string>> ListStaleUnverifiedAsync(DateTimeOffset signedUpBefore, DateTimeOffset now, int limit, CancellationToken cancellationToken = default);

    /// <summary>An application by id (not a deleted one); null when there is none.</summary>
    Task<PortalApplication?> GetApplicationAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Applications (not deleted) ordered by id after <paramref name="after"/>, of <paramref name="account"/> and in <paramref name="state"/> when given.</summary>
    Task<IReadOnlyList<PortalApplication>> ListApplicationsAsync(string? account, Model.Config.ApplicationState? state, string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applications (not deleted) that match <paramref name="search"/>, a page of at most <paramref name="limit"/> after the
    /// application <paramref name="after"/> (the id of the previous page's last one): in id order, or in title order when
    /// the search has a title but neither an id nor an account.
    /// </summary>
    Task<IReadOnlyList<PortalApplication>> SearchApplicationsAsync(ApplicationSearch search, string? after, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts (<paramref name="expectedSeq"/> 0) or replaces an application whose stored <c>Seq</c> is
    /// <paramref name="expectedSeq"/>; a <c>Deleted</c> one becomes a tombstone. Returns the change's sequence number,
    /// or null when the application changed meanwhile (or exists, for an insert).
    /// </summary>
    Task<long?> SaveApplicationAsync(PortalApplication application, long expectedSeq, string actor, string action, CancellationToken cancellationToken = default);

    /// <summary>
    /// Every application (tombstones included, with their account's state) written by a change after
    /// <paramref name="afterSeq"/>, and the newest sequence number; what nodes poll. 0 reads them all.
    /// </summary>
    Task<(IReadOnlyList<PortalApplication> Applications, long Seq)> ReadApplicationsSinceAsync(long afterSeq, CancellationToken cancellationToken = default);

    /// <summary>The newest consumer change's sequence number; 0 when there was none. One cheap read, for watchers.</summary>
    Task<long> NewestConsumerSeqAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// The newest change whose deleted application's row a prune removed (0 until one did). A reader that last saw an
    /// older change cannot learn of that deletion from <see cref="ReadApplicationsSinceAsync"/>: it reads the whole set
    /// again. Read it after the changes, not before: a prune between the two then shows here.
    /// </summary>
    Task<long> ConsumerHorizonAsync(CancellationToken cancellationToken = default);

    /// <summary>Counts of accounts and live applications, for the console.</summary>
    Task<(long Accounts, long Applications)> CountConsumersAsync(CancellationToken cancellationToken = default);

    /// <summary>The consumer change log newest first, only those below <paramref name="beforeSeq"/> when given.</summary>
    Task<IReadOnlyList<ConsumerChange>> ListConsumerChangesAsync(long? beforeSeq, int limit, CancellationToken cancellationToken = default);

    /// <summary>The changes of one account or application (<paramref name="kind"/> and its id), newest first.</summary>
    Task<IReadOnlyList<ConsumerChange>> ListConsumerChangesOfAsync(string kind, string name, int limit, CancellationToken cancellationToken = default);

    /// <summary>Stores a one-time token (its hash) for <paramref name="account"/>, such as a password reset.</summary>
    Task SaveTokenAsync(string hash, string purpose, string account, DateTimeOffset expiresAt, CancellationToken cancellationToken = default, string? detail = null);

    /// <summary>Takes (deletes) a token and returns its account when it exists, has this purpose and has not expired at <paramref name="now"/>.</summary>
    Task<string?> TakeTokenAsync(string hash, string purpose, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="TakeTokenAsync"/>, with the detail the token was saved with (a new address, for a change of address).</summary>
    Task<(string Account, string? Detail)?> TakeTokenWithDetailAsync(string hash, string purpose, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>A token's account when it exists, has this purpose and has not expired at <paramref name="now"/>; the token stays.</summary>
    Task<string?> PeekTokenAsync(string hash, string purpose, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Counts a sign-in attempt at <paramref name="at"/> under each key (an account's, a client address's), unless one of
    /// them already has its limit of attempts within <paramref name="window"/> before it: then nothing is counted, and
    /// <c>RetryAt</c> is when that key's oldest attempt leaves the window. One transaction, under a lock of the keys, so
    /// attempts on several nodes at once cannot all pass. <c>Ids</c> are the counted rows, one a key, in order.
    /// </summary>
    Task<(IReadOnlyList<long>? Ids, DateTimeOffset? RetryAt)> TryCountLoginAttemptAsync(IReadOnlyList<(string Key, int Limit)> keys, DateTimeOffset at, TimeSpan window, CancellationToken cancellationToken = default);

    /// <summary>Forgets every attempt of <paramref name="key"/> (when given) and the attempts <paramref name="ids"/>.</summary>
    Task ForgetLoginAttemptsAsync(string? key, IReadOnlyList<long> ids, CancellationToken cancellationToken = default);

    /// <summary>A console user by normalized email; null when there is none.</summary>
    Task<AdminUser?> GetAdminUserAsync(string email, CancellationToken cancellationToken = default);

    /// <summary>Every console user, by email.</summary>
    Task<IReadOnlyList<AdminUser>> ListAdminUsersAsync(CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a console user.</summary>
    Task UpsertAdminUserAsync(AdminUser user, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Ends every session of a console user without changing the user (their stamp changes: <see cref="AdminUser.SessionsEnded"/>),
    /// logged as <paramref name="action"/>; false when there is no such user.
    /// </summary>
    Task<bool> EndAdminUserSessionsAsync(string email, string actor, string action, CancellationToken cancellationToken = default);

    /// <summary>Removes a console user; false when there was none.</summary>
    Task<bool> DeleteAdminUserAsync(string email, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// A console user's own new password: set only while the stored hash is still <paramref name="oldHash"/> (false when
    /// the user was deleted or changed meanwhile, so that a role taken away or a deletion is never undone by it).
    /// </summary>
    Task<bool> ChangeAdminUserPasswordAsync(string email, string oldHash, string newHash, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Turns a console user's two-step sign-in on (a protected <paramref name="totpSecret"/> and the hashes of new
    /// recovery codes) or off (both null). With <paramref name="expectedPasswordHash"/> (the user's own change, checked
    /// against their password) only while the stored hash is still that one. False when the user is gone or changed.
    /// </summary>
    Task<bool> SetAdminUserTwoStepAsync(string email, string? expectedPasswordHash, string? totpSecret, IReadOnlyList<string>? recoveryCodes, string actor,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Takes a second-step code of a console user whose secret is still <paramref name="totpSecret"/>: the time step
    /// <paramref name="step"/> of an authenticator code, only when it is later than the last one taken (so a code, seen
    /// over a shoulder or in a proxy's log, cannot be used again), or the recovery code whose hash is
    /// <paramref name="recoveryCode"/>, which is then gone. False when neither can be taken.
    /// </summary>
    Task<bool> TakeAdminUserCodeAsync(string email, string totpSecret, long? step, string? recoveryCode, CancellationToken cancellationToken = default);

    /// <summary>A portal account's two-step sign-in; null when it is off (or there is no such account).</summary>
    Task<AccountTwoStep?> GetAccountTwoStepAsync(string accountId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Turns a portal account's two-step sign-in on, renews its recovery codes (a secret and codes) or turns it off
    /// (both null), giving the account <paramref name="stamp"/> (so its other sessions end) and logging <paramref name="action"/>.
    /// With <paramref name="expectedVersion"/> only while the account is still that version. False when the account is
    /// gone or changed.
    /// </summary>
    Task<bool> SetAccountTwoStepAsync(string accountId, long? expectedVersion, string? totpSecret, IReadOnlyList<string>? recoveryCodes, string stamp, string actor, string action,
        CancellationToken cancellationToken = default);

    /// <summary>Which of <paramref name="accountIds"/> have two-step sign-in on (one query, for a page of accounts).</summary>
    Task<IReadOnlySet<string>> AccountsWithTwoStepAsync(IReadOnlyList<string> accountIds, CancellationToken cancellationToken = default);

    /// <summary>As <see cref="TakeAdminUserCodeAsync"/>, for a portal account; a recovery code's use is logged as <paramref name="actor"/>'s.</summary>
    Task<bool> TakeAccountCodeAsync(string accountId, string totpSecret, long? step, string? recoveryCode, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Links a single sign-on owner (a console user, <c>console-user:EMAIL</c>, or a portal account's id) to the
    /// provider's identity (<paramref name="issuer"/>, <paramref name="subject"/>) the first time it signs in through
    /// the provider, and tells whether a later sign-in is that identity: OpenID Connect's one stable identifier is the
    /// issuer and subject together, while an address can be given to someone else. <paramref name="kind"/> is the
    /// owner's (<c>console-user</c> or <c>account</c>): one identity may have one of each. The first link is in the change log.
    /// </summary>
    Task<SsoLinkOutcome> LinkSsoAsync(string owner, string issuer, string subject, string actor, string kind, CancellationToken cancellationToken = default);

    /// <summary>The owner of <paramref name="kind"/> (<c>console-user</c> or <c>account</c>) a provider identity is linked to; null when none.</summary>
    Task<string?> FindSsoOwnerAsync(string kind, string issuer, string subject, CancellationToken cancellationToken = default);

    /// <summary>Which of <paramref name="owners"/> are bound to a single sign-on identity (one query, for a page of them).</summary>
    Task<IReadOnlySet<string>> OwnersWithSsoAsync(IReadOnlyList<string> owners, CancellationToken cancellationToken = default);

    /// <summary>Removes an owner's link (an administrator's decision: the address now belongs to someone else there). False when there was none.</summary>
    Task<bool> UnlinkSsoAsync(string owner, string actor, string kind, CancellationToken cancellationToken = default);

    /// <summary>
    /// Keeps a new portal token (<paramref name="tokenSha256"/>, the token's SHA-256 in lower-case hex) for its account,
    /// unless the account has one of that name already or <paramref name="maxPerAccount"/> of them; in the change log
    /// (kind <c>account</c>, action <c>token-create</c>), never the token.
    /// </summary>
    Task<PortalTokenAdded> AddPortalTokenAsync(PortalToken token, string tokenSha256, int maxPerAccount, string actor, CancellationToken cancellationToken = default);

    /// <summary>An account's portal tokens, by name.</summary>
    Task<IReadOnlyList<PortalToken>> ListPortalTokensAsync(string account, CancellationToken cancellationToken = default);

    /// <summary>The portal token whose SHA-256 this is; null when none (expired ones included: the caller decides).</summary>
    Task<PortalToken?> FindPortalTokenAsync(string tokenSha256, CancellationToken cancellationToken = default);

    /// <summary>Deletes an account's token by name (change log action <c>token-revoke</c>); false when there was none.</summary>
    Task<bool> DeletePortalTokenAsync(string account, string name, string actor, CancellationToken cancellationToken = default);

    /// <summary>How many portal tokens each of <paramref name="accounts"/> holds (one query, for a page of them); absent: none.</summary>
    Task<IReadOnlyDictionary<string, int>> CountPortalTokensAsync(IReadOnlyList<string> accounts, CancellationToken cancellationToken = default);

    /// <summary>Portal tokens (of every account) that expire after <paramref name="after"/> and at or before <paramref name="until"/>.</summary>
    Task<IReadOnlyList<PortalToken>> ListPortalTokensExpiringAsync(DateTimeOffset after, DateTimeOffset until, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims the reminder <paramref name="key"/>: true for the one caller that claims it first, on any node; the claim is
    /// forgotten after <paramref name="forgetAt"/> (claims past their time are removed by each call).
    /// </summary>
    Task<bool> ClaimReminderAsync(string key, DateTimeOffset forgetAt, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Records that the token was used at <paramref name="at"/> (not in the change log).</summary>
    Task TouchPortalTokenAsync(string tokenSha256, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets a shared setting of the portal or the console (a switch, a limit) and, when it changes, logs who changed it
    /// from what to what in the consumer change log (kind <c>setting</c>), in one transaction.
    /// </summary>
    Task SetLoggedSettingAsync(string key, string value, string actor, CancellationToken cancellationToken = default);

    /// <summary>Keeps an OAuth client the portal registered at the provider (before its client id is bound to the application).</summary>
    Task AddOAuthClientAsync(OAuthClientRegistration registration, CancellationToken cancellationToken = default);

    /// <summary>The OAuth clients the portal registered for <paramref name="application"/> and has not yet deleted at the provider.</summary>
    Task<IReadOnlyList<OAuthClientRegistration>> ListOAuthClientsAsync(string application, CancellationToken cancellationToken = default);

    /// <summary>
    /// Registered clients whose application no longer holds their client id (removed, or the application deleted), made
    /// before <paramref name="madeBefore"/> (a younger one may still be on its way to being bound): the provider's to delete.
    /// </summary>
    Task<IReadOnlyList<OAuthClientRegistration>> ListUnboundOAuthClientsAsync(DateTimeOffset madeBefore, int limit, CancellationToken cancellationToken = default);

    /// <summary>Forgets a registered client (deleted at the provider, or never to be).</summary>
    Task DeleteOAuthClientAsync(string clientId, CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="IConsumerStore.LinkSsoAsync"/> found.</summary>
public enum SsoLinkOutcome
{
    /// <summary>The owner was linked to this identity before: it is them.</summary>
    Same,
    /// <summary>Neither had a link: they are linked now.</summary>
    Linked,
    /// <summary>The owner is linked to another identity at the provider (the address was given to someone else).</summary>
    OwnerLinkedElsewhere,
    /// <summary>This identity is linked to another owner (its address changed at the provider).</summary>
    IdentityLinkedElsewhere,
}
