using System.Globalization;
using System.Net.Mail;
using System.Security.Cryptography;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Identity;

namespace Gatehouse.Management.Consumers;

/// <summary>
/// Every rule about consumer accounts, portal applications and their keys, in one place: the portal's pages, the admin
/// API's <c>/admin/portal/…</c> endpoints and the console all call this, so they cannot disagree. Each change is one
/// store transaction with its change-log row (and actor), then this node's follower reads it at once, so the gateway
/// here serves it before the answer goes out; other nodes follow within their poll interval.
/// </summary>
internal sealed partial class ConsumerService
{
    /// <summary>The store setting that makes new accounts wait for an administrator.</summary>
    public const string AccountApprovalSetting = "portal.accountApproval";

    /// <summary>The store setting that makes a sign-up wait for its address to be confirmed from a mailed link.</summary>
    public const string EmailVerificationSetting = "portal.emailVerification";

    private const int Attempts = 3;
    private readonly IConfigStore _store;
    private readonly ConsumerFollower? _follower;
    private readonly Func<CancellationToken, Task<GatehouseConfig?>> _config;
    private readonly TimeProvider _time;
    private readonly PasswordHasher<object> _hasher = new();
    private readonly PasswordWork _passwords;
    private readonly PasswordWork _consolePasswords;
    private readonly string _dummyHash;

    public ConsumerService(IConfigStore store, ConsumerFollower? follower, Func<CancellationToken, Task<GatehouseConfig?>> config, TimeProvider time, PasswordWork? passwords = null, PasswordWork? consolePasswords = null)
    {
        _passwords = passwords ?? new PasswordWork();
        // The console's few users hash apart from the portal, at the normal priority: on a node whose gateway takes every
        // core the portal's idle-class workers may not run for a while, and that is when an operator needs the console.
        // One worker and a short queue bound what a flood of console sign-ins can take (its throttles count first).
        _consolePasswords = consolePasswords ?? new PasswordWork(workers: 1, queueLimit: 16, lowPriority: false);
        _store = store;
        _follower = follower;
        _config = config;
        _time = time;
        Throttle = new LoginThrottle(store, time);
        // Verified against for unknown emails, so a login takes as long whether or not the account exists.
        _dummyHash = _hasher.HashPassword(this, Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));
    }

    public IConfigStore Store => _store;

    public LoginThrottle Throttle { get; }

    public TimeProvider Time => _time;

    /// <summary>Trimmed and lower case: one account per mailbox however it is typed.</summary>
    public static string NormalizeEmail(string email) => email.Trim().ToLowerInvariant();

    /// <summary>The plans a consumer may choose: neither anonymous nor hidden, in config order.</summary>
    public static IEnumerable<(string Name, PlanConfig Plan)> PublicPlans(GatehouseConfig config) =>
        config.Plans.Where(p => !p.Value.Anonymous && !p.Value.Hidden).Select(p => (p.Key, p.Value));

    public Task<GatehouseConfig?> ConfigAsync(CancellationToken cancellationToken) => _config(cancellationToken);

    public Task<bool> AccountApprovalAsync(CancellationToken cancellationToken) => SwitchAsync(AccountApprovalSetting, cancellationToken);

    // A portal switch as stored, read with its default (PortalSwitches, which the admin API and the console read too).
    private async Task<bool> SwitchAsync(string setting, CancellationToken cancellationToken) =>
        PortalSwitches.IsOn(await _store.GetSettingAsync(setting, cancellationToken).ConfigureAwait(false), PortalSwitches.DefaultOf(setting));

    // Where an account starts once it may sign in: pending under account approval, active otherwise.
    private async Task<AccountState> ConfirmedStateAsync(CancellationToken cancellationToken) =>
        await AccountApprovalAsync(cancellationToken).ConfigureAwait(false) ? AccountState.Pending : AccountState.Active;

    /// <summary>The portal setting that requires two-step sign-in of every account before it may use its applications' pages.</summary>
    public const string TwoStepRequiredSetting = "portal.twoStepRequired";

    public Task<bool> TwoStepRequiredAsync(CancellationToken cancellationToken) => SwitchAsync(TwoStepRequiredSetting, cancellationToken);

    /// <summary>The portal setting that caps how many applications one account may hold (not deleted).</summary>
    public const string MaxApplicationsSetting = "portal.maxApplicationsPerAccount";

    /// <summary>The cap when none is set: room for a team's environments and services, not for a script left in a loop.</summary>
    public const int DefaultMaxApplications = 50;

    /// <summary>The highest cap the setting takes.</summary>
    public const int MaxApplicationsCeiling = 1_000;

    public Task<int> MaxApplicationsAsync(CancellationToken cancellationToken) =>
        CountSettingAsync(MaxApplicationsSetting, MaxApplicationsCeiling, DefaultMaxApplications, cancellationToken);

    // A count setting of the portal's: its stored value when it is a whole number from 1 to ceiling, else the default.
    private async Task<int> CountSettingAsync(string name, int ceiling, int fallback, CancellationToken cancellationToken) =>
        int.TryParse(await _store.GetSettingAsync(name, cancellationToken).ConfigureAwait(false), NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            && value >= 1 && value <= ceiling ? value : fallback;

    public Task<bool> EmailVerificationAsync(CancellationToken cancellationToken) => SwitchAsync(EmailVerificationSetting, cancellationToken);

    /// <summary>The portal setting that makes every new key expire within a time: <c>30d</c>, <c>90d</c> or <c>365d</c>; unset, keys may never expire.</summary>
    public const string KeyLifetimeMaxSetting = "portal.keyLifetimeMax";

    /// <summary>The lifetimes a key may be given, by their names (the portal's choices, and the setting's values).</summary>
    public static readonly IReadOnlyDictionary<string, TimeSpan> KeyLifetimeChoices = new Dictionary<string, TimeSpan>(StringComparer.Ordinal)
    {
        ["30d"] = TimeSpan.FromDays(30),
        ["90d"] = TimeSpan.FromDays(90),
        ["365d"] = TimeSpan.FromDays(365),
    };

    /// <summary>The longest a new key may live (<see cref="KeyLifetimeMaxSetting"/>), by its name; null when keys may never expire.</summary>
    public async Task<string?> KeyLifetimeMaxAsync(CancellationToken cancellationToken) =>
        await _store.GetSettingAsync(KeyLifetimeMaxSetting, cancellationToken).ConfigureAwait(false) is { } name && KeyLifetimeChoices.ContainsKey(name) ? name : null;

    // The problem with a key lifetime under the portal's maximum (null: never expires), or null when it is allowed.
    private async Task<AdminProblem?> CheckKeyLifetimeAsync(TimeSpan? lifetime, CancellationToken cancellationToken) =>
        await KeyLifetimeMaxAsync(cancellationToken).ConfigureAwait(false) is { } max && (lifetime is null || lifetime > KeyLifetimeChoices[max])
            ? Invalid("keyExpiresIn", $"Keys on this portal must expire within {Describe(max)}; choose {string.Join(" or ", KeyLifetimeChoices.Where(c => c.Value <= KeyLifetimeChoices[max]).Select(c => Describe(c.Key)))}.")
            : null;

    /// <summary>A lifetime of <see cref="KeyLifetimeChoices"/> in words: "30 days", "a year".</summary>
    public static string Describe(string lifetime) => lifetime == "365d" ? "a year" : lifetime[..^1] + " days";

    /// <summary>
    /// Signs up when addresses are confirmed by mail: a new address becomes an <see cref="AccountState.Unverified"/>
    /// account (<c>ToConfirm</c>), which cannot sign in until its owner opens the mailed link and gives its password; an
    /// address with an unconfirmed account is signed up again over it (a squatter cannot hold an address they cannot
    /// read mail for); an address with a confirmed account is left as it was and returned as <c>Existing</c>, so that its
    /// owner can be told. Takes what <see cref="CheckSignUpAsync"/> checked and hashed: the portal checks on the request
    /// and does this off it, so that the page answers as fast for a new and a taken address.
    /// </summary>
    public async Task<(AdminProblem? Problem, ConsumerAccount? ToConfirm, ConsumerAccount? Existing)> SignUpUnverifiedAsync(string checkedEmail, string checkedTitle, string hash, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var existing = await _store.FindAccountByEmailAsync(checkedEmail, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                var account = new ConsumerAccount(NewId("acc-"), checkedEmail, checkedTitle, hash, AccountState.Unverified, NewStamp(), _time.GetUtcNow(), 1);
                if (await _store.InsertAccountAsync(account, "portal:" + checkedEmail, cancellationToken).ConfigureAwait(false))
                {
                    return (null, account, null);
                }
            }
            else if (existing.State == AccountState.Unverified)
            {
                var again = existing with { Title = checkedTitle, PasswordHash = hash, Stamp = NewStamp() };
                if (await _store.UpdateAccountAsync(again, "portal:" + checkedEmail, "signup", cancellationToken).ConfigureAwait(false))
                {
                    return (null, again with { Version = existing.Version + 1 }, null);
                }
            }
            else
            {
                return (null, null, existing);
            }
        }

        return (Busy(), null, null);
    }

    /// <summary>
    /// Confirms an unconfirmed account from its mailed link: the link proves the mailbox, the password proves it is the
    /// same person who signed up (so a link mailed for someone else's sign-up over the address confirms nothing). Counts
    /// as a sign-in for throttling. The account, now active (or pending, under account approval), when both hold.
    /// </summary>
    public async Task<(ConsumerAccount? Account, DateTimeOffset? RetryAt, bool Busy)> ConfirmAsync(string accountId, string password, string address, CancellationToken cancellationToken)
    {
        var account = await _store.GetAccountAsync(accountId, cancellationToken).ConfigureAwait(false);
        if (account is null || account.State != AccountState.Unverified)
        {
            return (null, null, false);
        }

        var (until, attempt) = await Throttle.TryBeginAsync(account.Email, address, cancellationToken).ConfigureAwait(false);
        if (until is not null)
        {
            return (null, until, false);
        }

        var (checkedIt, result) = await CheckAsync(attempt, account.PasswordHash, password, cancellationToken).ConfigureAwait(false);
        if (!checkedIt)
        {
            return (null, null, true);
        }

        if (result == PasswordVerificationResult.Failed)
        {
            return (null, null, false); // the attempt stays counted
        }

        var confirmed = account with { State = await ConfirmedStateAsync(cancellationToken).ConfigureAwait(false), Stamp = NewStamp() };
        if (!await _store.UpdateAccountAsync(confirmed, "portal:" + account.Email, "confirm", cancellationToken).ConfigureAwait(false))
        {
            return (null, null, false);
        }

        await Throttle.SucceededAsync(attempt).ConfigureAwait(false);
        if (confirmed.State == AccountState.Pending)
        {
            Notify?.Invoke(new(ConsumerNoticeKind.AccountPending, account.Email));
        }

        return (confirmed with { Version = account.Version + 1 }, null, false);
    }

    /// <summary>
    /// Checks a signed-in consumer's password again before a change that needs it (a new password, deleting the account),
    /// counted like a sign-in, so a session left open cannot be used to guess it. Null when it is right; else why not,
    /// with when to try again for a throttled one.
    /// </summary>
    public async Task<(AdminProblem? Problem, DateTimeOffset? RetryAt)> CheckPasswordAgainAsync(ConsumerAccount account, string password, string address, CancellationToken cancellationToken)
    {
        if (account.PasswordHash is null)
        {
            // Made through single sign-on (or its password dropped there): there is nothing to check, and nothing to guess.
            return (Invalid("current", "This account has no password: it signs in through single sign-on. Get one with a mailed link first (sign out, then \"Forgot your password?\")."), null);
        }

        var (until, attempt) = await Throttle.TryBeginAsync(account.Email, address, cancellationToken).ConfigureAwait(false);
        if (until is not null)
        {
            return (new AdminProblem(StatusCodes.Status429TooManyRequests, "too-many-attempts", "Too many attempts", "Too many wrong passwords; try again later."), until);
        }

        var (checkedIt, result) = await CheckAsync(attempt, account.PasswordHash, password, cancellationToken).ConfigureAwait(false);
        if (!checkedIt)
        {
            return (Overloaded(), null);
        }

        if (result == PasswordVerificationResult.Failed)
        {
            return (Invalid("current", "The current password is not right."), null); // the attempt stays counted
        }

        await Throttle.SucceededAsync(attempt).ConfigureAwait(false);
        return (null, null);
    }

    /// <summary>
    /// Deletes an account and everything it holds: it is suspended first (its sessions end, its keys are refused, it can
    /// make nothing new), then each application is deleted (the nodes drop their keys), then the account itself, whose
    /// address and name leave the change log (<see cref="Stores.IConsumerStore.DeleteAccountAsync"/>).
    /// </summary>
    public async Task<AdminProblem?> DeleteAccountAsync(string id, string actor, CancellationToken cancellationToken)
    {
        var suspended = false;
        for (var attempt = 0; attempt < Attempts && !suspended; attempt++)
        {
            var account = await _store.GetAccountAsync(id, cancellationToken).ConfigureAwait(false);
            if (account is null)
            {
                return AdminProblem.NotFound($"Account '{id}'");
            }

            suspended = await _store.UpdateAccountAsync(account with { State = AccountState.Suspended, Stamp = NewStamp() }, actor, "close", cancellationToken).ConfigureAwait(false);
        }

        if (!suspended)
        {
            return Busy();
        }

        IReadOnlyList<PortalApplication> applications;
        while ((applications = await _store.ListApplicationsAsync(id, null, null, 1000, cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            foreach (var application in applications)
            {
                if (await DeleteApplicationAsync(id, application.Id, actor, cancellationToken).ConfigureAwait(false) is { Status: not StatusCodes.Status404NotFound } problem)
                {
                    return problem;
                }
            }
        }

        if (!await _store.DeleteAccountAsync(id, actor, cancellationToken).ConfigureAwait(false))
        {
            // An application was made between the list and the delete (the account was suspended, so only by an administrator).
            return Busy();
        }

        await FollowAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>How long an account whose address was never confirmed is kept, once its last link has expired too: 7 days.</summary>
    public static readonly TimeSpan UnverifiedLifetime = TimeSpan.FromDays(7);

    /// <summary>
    /// Deletes the accounts whose address was never confirmed, signed up more than <see cref="UnverifiedLifetime"/> ago
    /// and holding no link that still works: someone's address, typed by someone else or never followed up, is not kept
    /// for ever. Returns how many went. Several control planes may sweep at once: an account goes once.
    /// </summary>
    public async Task<int> SweepUnverifiedAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var removed = 0;
        IReadOnlyList<string> stale;
        do
        {
            stale = await _store.ListStaleUnverifiedAsync(now - UnverifiedLifetime, now, 500, cancellationToken).ConfigureAwait(false);
            var before = removed;
            foreach (var id in stale)
            {
                // Only while it is still unconfirmed: one confirmed meanwhile stays.
                removed += await _store.DeleteAccountAsync(id, "portal:expired", cancellationToken, AccountState.Unverified).ConfigureAwait(false) ? 1 : 0;
            }

            if (removed == before)
            {
                break;
            }
        }
        while (stale.Count == 500);

        return removed;
    }

    /// <summary>What every sign-up checks, then the hash (the work that makes a new and a taken address take as long): the normalized email and title and the hash, or the problem.</summary>
    public async Task<(AdminProblem? Problem, string Email, string Title, string Hash)> CheckSignUpAsync(string email, string title, string password, CancellationToken cancellationToken)
    {
        email = NormalizeEmail(email);
        if (CheckEmail(email) is { } bad)
        {
            return (bad, email, title, "");
        }

        title = title.Trim();
        if (CheckText(title, "name", 1, 100) is { } badTitle)
        {
            return (badTitle, email, title, "");
        }

        if (PasswordPolicy.Check(password, email) is { } weak)
        {
            return (Invalid("password", weak), email, title, "");
        }

        var (hashed, hash) = await HashPasswordAsync(password, cancellationToken).ConfigureAwait(false);
        return (hashed ? null : Overloaded(), email, title, hash);
    }

    /// <summary>The refusal of a single sign-on into a suspended account.</summary>
    public static AdminProblem SuspendedAccount(string email) =>
        new(StatusCodes.Status403Forbidden, "account-suspended", "Account suspended", $"The account of {email} is suspended; write to the portal's operators.");

    /// <summary>
    /// Signs in (and up) someone whose address a single sign-on provider vouches for: their account, made now when the
    /// address has none (no password; pending when accounts need approval). An address whose account is waiting for
    /// its mailed link is confirmed by the provider, and the password given at that sign-up is dropped: anyone could
    /// have typed it, and it is not the owner's (account pre-hijacking). For the same reason, while the portal does
    /// not confirm addresses (<c>emailVerification</c> off), an account that signs in with a password is not taken
    /// over: its owner signs in with the password (nothing proves the password's author owns the address). A suspended
    /// account is refused.
    /// </summary>
    public async Task<(ConsumerAccount? Account, bool Created, AdminProblem? Problem)> SignInWithProviderAsync(string verifiedEmail, string? name, string provider,
        CancellationToken cancellationToken)
    {
        var title = (name ?? "").Trim();
        if (CheckText(title, "name", 1, 100) is not null)
        {
            title = verifiedEmail.Length <= 100 ? verifiedEmail : verifiedEmail[..100];
        }

        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var account = await _store.FindAccountByEmailAsync(verifiedEmail, cancellationToken).ConfigureAwait(false);
            if (account is null)
            {
                var state = await ConfirmedStateAsync(cancellationToken).ConfigureAwait(false);
                var made = new ConsumerAccount(NewId("acc-"), verifiedEmail, title, null, state, NewStamp(), _time.GetUtcNow(), 1);
                if (await _store.InsertAccountAsync(made, "portal:" + verifiedEmail, cancellationToken).ConfigureAwait(false))
                {
                    if (state == AccountState.Pending)
                    {
                        Notify?.Invoke(new(ConsumerNoticeKind.AccountPending, verifiedEmail));
                    }

                    return (made, true, null);
                }

                continue; // made meanwhile by another sign-up: read it
            }

            switch (account.State)
            {
                case AccountState.Suspended:
                    return (null, false, SuspendedAccount(verifiedEmail));
                case AccountState.Unverified:
                    var confirmed = account with { State = await ConfirmedStateAsync(cancellationToken).ConfigureAwait(false), PasswordHash = null, Stamp = NewStamp() };
                    if (await _store.UpdateAccountAsync(confirmed, "portal:" + verifiedEmail, "confirm", cancellationToken).ConfigureAwait(false))
                    {
                        if (confirmed.State == AccountState.Pending)
                        {
                            Notify?.Invoke(new(ConsumerNoticeKind.AccountPending, verifiedEmail));
                        }

                        return (confirmed with { Version = account.Version + 1 }, false, null);
                    }

                    continue;
                default:
                    if (account.PasswordHash is not null && !await EmailVerificationAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return (null, false, new AdminProblem(StatusCodes.Status409Conflict, "account-has-password", "Sign in with the password",
                            $"{verifiedEmail} already has an account here that signs in with a password, which {provider} cannot take over. Sign in with the password (or get a new one with \"Forgot your password?\")."));
                    }

                    return (account, false, null);
            }
        }

        return (null, false, Busy());
    }

    /// <summary>
    /// Signs up: a problem only for input that is wrong whoever sends it (an address that is not one, a weak
    /// password). A taken email answers exactly as a new one, after the same hashing work, and changes nothing.
    /// </summary>
    public async Task<AdminProblem?> SignUpAsync(string email, string title, string password, CancellationToken cancellationToken)
    {
        var (problem, checkedEmail, checkedTitle, hash) = await CheckSignUpAsync(email, title, password, cancellationToken).ConfigureAwait(false);
        if (problem is not null)
        {
            return problem;
        }

        (email, title) = (checkedEmail, checkedTitle);
        var state = await ConfirmedStateAsync(cancellationToken).ConfigureAwait(false);
        var account = new ConsumerAccount(NewId("acc-"), email, title, hash, state, NewStamp(), _time.GetUtcNow(), 1);
        if (await _store.InsertAccountAsync(account, "portal:" + email, cancellationToken).ConfigureAwait(false) && state == AccountState.Pending)
        {
            Notify?.Invoke(new(ConsumerNoticeKind.AccountPending, email));
        }

        return null;
    }

    /// <summary>
    /// Checks a login: the account when the password is right and it may log in; null otherwise (one answer for an
    /// unknown email, a wrong password and a suspended account). <c>RetryAt</c> is set, and nothing checked,
    /// while the account or the address has too many recent failures.
    /// </summary>
    public async Task<(ConsumerAccount? Account, DateTimeOffset? RetryAt, bool Busy)> LogInAsync(string email, string password, string address, CancellationToken cancellationToken)
    {
        email = NormalizeEmail(email);
        var (until, attempt) = await Throttle.TryBeginAsync(email, address, cancellationToken).ConfigureAwait(false);
        if (until is not null)
        {
            return (null, until, false);
        }

        var account = email.Length is > 0 and <= 254 ? await _store.FindAccountByEmailAsync(email, cancellationToken).ConfigureAwait(false) : null;
        var (checkedIt, result) = await CheckAsync(attempt, account?.PasswordHash, password, cancellationToken).ConfigureAwait(false);
        if (!checkedIt)
        {
            // Nothing was checked, so nothing counts against the account or the address.
            return (null, null, true);
        }

        // An unconfirmed account answers as a wrong password does: "confirm your address first" would tell whoever signed
        // up over an address that it had no account before.
        if (account is null || result == PasswordVerificationResult.Failed || account.State is AccountState.Suspended or AccountState.Unverified)
        {
            return (null, null, false); // the attempt stays counted
        }

        await Throttle.SucceededAsync(attempt).ConfigureAwait(false);
        return (account, null, false);
    }

    /// <summary>
    /// Checks a password for a counted attempt (against a dummy hash when there is no account, so that both take as long);
    /// an attempt whose password was never checked, because no worker was free or the caller gave up, is given back.
    /// </summary>
    private async Task<(bool Checked, PasswordVerificationResult Result)> CheckAsync(LoginAttempt attempt, string? hash, string password, CancellationToken cancellationToken, bool console = false)
    {
        try
        {
            var (checkedIt, result) = await (console ? _consolePasswords : _passwords).RunAsync(() => _hasher.VerifyHashedPassword(this, hash ?? _dummyHash, password), cancellationToken).ConfigureAwait(false);
            if (!checkedIt)
            {
                await Throttle.NotCheckedAsync(attempt).ConfigureAwait(false);
            }

            return (checkedIt, result);
        }
        catch (OperationCanceledException)
        {
            await Throttle.NotCheckedAsync(attempt).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Checks a console user's password for a counted attempt: on the console's password worker, against a dummy hash when there
    /// is no such user (<paramref name="hash"/> null), so that a known and an unknown address take as long. Checked is
    /// false when no worker was free (the attempt is given back).
    /// </summary>
    public async Task<(bool Checked, bool Right)> CheckConsolePasswordAsync(LoginAttempt attempt, string? hash, string password, CancellationToken cancellationToken)
    {
        var (checkedIt, result) = await CheckAsync(attempt, hash, password, cancellationToken, console: true).ConfigureAwait(false);
        return (checkedIt, checkedIt && hash is not null && result != PasswordVerificationResult.Failed);
    }

    /// <summary>
    /// A <c>PasswordHasher</c> hash of <paramref name="password"/>, on the portal's workers or, for a console user's
    /// password, the console's; false when too many hashes are waiting.
    /// </summary>
    public Task<(bool Done, string Hash)> HashPasswordAsync(string password, CancellationToken cancellationToken, bool console = false) =>
        (console ? _consolePasswords : _passwords).RunAsync(() => _hasher.HashPassword(this, password), cancellationToken);

    /// <summary>Sets a new password (a reset): a new stamp ends every session made with the old one.</summary>
    public async Task<AdminProblem?> SetPasswordAsync(string accountId, string password, string actor, CancellationToken cancellationToken, string? hash = null, bool mailboxProven = false)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var account = await _store.GetAccountAsync(accountId, cancellationToken).ConfigureAwait(false);
            if (account is null)
            {
                return AdminProblem.NotFound($"Account '{accountId}'");
            }

            if (PasswordPolicy.Check(password, account.Email) is { } weak)
            {
                return Invalid("password", weak);
            }

            if (hash is null)
            {
                var (hashed, made) = await HashPasswordAsync(password, cancellationToken).ConfigureAwait(false);
                if (!hashed)
                {
                    return Overloaded();
                }

                hash = made;
            }

            var changed = account with { PasswordHash = hash, Stamp = NewStamp() };
            if (mailboxProven && account.State == AccountState.Unverified)
            {
                // A reset link was opened from the mailbox and the password is the opener's own choice: the address is confirmed.
                changed = changed with { State = await ConfirmedStateAsync(cancellationToken).ConfigureAwait(false) };
            }

            if (await _store.UpdateAccountAsync(changed, actor, "password", cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }

        return Busy();
    }

    /// <summary>Gives an account a new name (its title), the same rules as at sign-up.</summary>
    public async Task<AdminProblem?> RenameAccountAsync(string accountId, string title, string actor, CancellationToken cancellationToken)
    {
        title = title.Trim();
        if (CheckText(title, "name", 1, 100) is { } bad)
        {
            return bad;
        }

        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var account = await _store.GetAccountAsync(accountId, cancellationToken).ConfigureAwait(false);
            if (account is null)
            {
                return AdminProblem.NotFound($"Account '{accountId}'");
            }

            if (account.Title == title || await _store.UpdateAccountAsync(account with { Title = title }, actor, "rename", cancellationToken).ConfigureAwait(false))
            {
                return null;
            }
        }

        return Busy();
    }

    /// <summary>
    /// Gives an account a new address, once its owner has proven both the mailbox (a link mailed there) and the account
    /// (its password): a new stamp ends every session, and links made for the old address stop working.
    /// </summary>
    public async Task<AdminProblem?> ChangeEmailAsync(string accountId, string email, string actor, CancellationToken cancellationToken)
    {
        email = NormalizeEmail(email);
        if (CheckEmail(email) is { } bad)
        {
            return bad;
        }

        return await _store.ChangeAccountEmailAsync(accountId, email, NewStamp(), actor, cancellationToken).ConfigureAwait(false) switch
        {
            null => AdminProblem.NotFound($"Account '{accountId}'"),
            false => new(StatusCodes.Status409Conflict, "email-taken", "The address has an account",
                "Another account has signed up with this address since the change was asked for; nothing was changed."),
            true => null,
        };
    }

    /// <summary>Makes an application on <paramref name="plan"/> with its first key, shown only in this result.</summary>
    public async Task<(PortalApplication? Application, string? Key, AdminProblem? Problem)> CreateApplicationAsync(
        ConsumerAccount account, string title, string description, string plan, string actor, CancellationToken cancellationToken, TimeSpan? keyLifetime = null)
    {
        title = title.Trim();
        description = description.Trim();
        if (account.State != AccountState.Active)
        {
            return (null, null, new AdminProblem(StatusCodes.Status403Forbidden, "account-not-active", "Account not approved yet",
                "Your account waits for an administrator's approval; you can create applications once it is approved."));
        }

        if ((CheckText(title, "title", 1, 100) ?? CheckText(description, "description", 0, 1000) ?? await CheckKeyLifetimeAsync(keyLifetime, cancellationToken).ConfigureAwait(false)) is { } bad)
        {
            return (null, null, bad);
        }

        var config = await _config(cancellationToken).ConfigureAwait(false);
        if (config is null || !PublicPlans(config).Any(p => p.Name == plan))
        {
            return (null, null, Invalid("plan", $"'{plan}' is not a plan you can choose; pick one of the catalogue's plans."));
        }

        // Checked before the write: creations running at the same moment may each pass it, so an account can go over by
        // as many as it runs at once (a bound on a script in a loop, not an exact count).
        var max = await MaxApplicationsAsync(cancellationToken).ConfigureAwait(false);
        if ((await _store.ListApplicationsAsync(account.Id, null, null, max, cancellationToken).ConfigureAwait(false)).Count >= max)
        {
            return (null, null, new AdminProblem(StatusCodes.Status409Conflict, "too-many-applications", "Too many applications",
                string.Create(CultureInfo.InvariantCulture, $"An account may hold {max} applications on this portal; delete one you no longer use first.")));
        }

        var (key, entry) = NewKey([], keyLifetime is { } lifetime ? _time.GetUtcNow() + lifetime : null);
        var state = config.Plans[plan].ApprovalRequired ? ApplicationState.Pending : ApplicationState.Live;
        var application = new PortalApplication(NewId("app-"), account.Id, title, description, plan, state, [entry], _time.GetUtcNow());
        if (config.Applications.ContainsKey(application.Id) || await _store.SaveApplicationAsync(application, 0, actor, "create", cancellationToken).ConfigureAwait(false) is null)
        {
            return (null, null, Busy());
        }

        await FollowAsync(cancellationToken).ConfigureAwait(false);
        if (state == ApplicationState.Pending)
        {
            Notify?.Invoke(new(ConsumerNoticeKind.ApplicationPending, account.Email, title, plan));
        }

        return (application, key, null);
    }

    /// <summary>
    /// The application <paramref name="id"/> when <paramref name="accountId"/> owns it (or, for an administrator, null
    /// <paramref name="accountId"/>); another consumer's application is "not found", exactly like one that does not exist.
    /// </summary>
    public async Task<PortalApplication?> FindAsync(string? accountId, string id, CancellationToken cancellationToken)
    {
        var application = id.Length is > 0 and <= 100 ? await _store.GetApplicationAsync(id, cancellationToken).ConfigureAwait(false) : null;
        return application is not null && (accountId is null || application.Account == accountId) ? application : null;
    }

    /// <summary>Rotates key <paramref name="prefix"/>: a new key now; the old one works for <paramref name="grace"/> (0 removes it).</summary>
    public async Task<(PortalApplication? Application, string? Key, AdminProblem? Problem)> RotateKeyAsync(
        string? accountId, string id, string prefix, TimeSpan grace, string actor, CancellationToken cancellationToken)
    {
        string? key = null;
        var max = await KeyLifetimeMaxAsync(cancellationToken).ConfigureAwait(false) is { } name ? KeyLifetimeChoices[name] : (TimeSpan?)null;
        var (application, problem) = await ChangeAsync(accountId, id, actor, "rotate key " + prefix, app =>
        {
            var old = app.Keys.FirstOrDefault(k => k.Prefix == prefix);
            if (old is null)
            {
                return (null, AdminProblem.NotFound($"A key with prefix '{prefix}'"));
            }

            var now = _time.GetUtcNow();
            // Its successor would inherit the past expiry and be dead on arrival: an expired key is replaced by a new
            // key (AddKeyAsync, offered once no key works), which the portal's lifetime rules govern afresh.
            if (old.Expires is { } expired && expired <= now)
            {
                return (null, new AdminProblem(StatusCodes.Status409Conflict, "key-expired", "The key has expired",
                    $"The key '{prefix}' expired at {expired:u}; rotating it would make a key that has expired too. Revoke it; once the application has no key that works, its page makes a new one."));
            }

            var until = now + grace;
            var end = old.Expires is { } own && own < until ? own : until;
            var kept = app.Keys.Where(k => k != old).ToList();
            if (grace > TimeSpan.Zero)
            {
                kept.Add(old with { Expires = end });
            }

            // The new key inherits the old one's expiry: rotating never extends what a key was allowed. Under the portal's
            // maximum lifetime it expires within that from now, whatever the old one had (made before the maximum was set).
            var expires = max is { } most && (old.Expires is null || old.Expires > now + most) ? now + most : old.Expires;
            var (plaintext, entry) = NewKey(kept, expires);
            key = plaintext;
            return (app with { Keys = [.. kept, entry] }, null);
        }, cancellationToken).ConfigureAwait(false);
        return (application, problem is null ? key : null, problem);
    }

    public async Task<AdminProblem?> RevokeKeyAsync(string? accountId, string id, string prefix, string actor, CancellationToken cancellationToken) =>
        (await ChangeAsync(accountId, id, actor, "revoke key " + prefix, app => app.Keys.Any(k => k.Prefix == prefix)
            ? (app with { Keys = [.. app.Keys.Where(k => k.Prefix != prefix)] }, null)
            : (null, AdminProblem.NotFound($"A key with prefix '{prefix}'")), cancellationToken).ConfigureAwait(false)).Problem;

    /// <summary>Moves an application to another plan; onto a plan that needs approval it goes pending again.</summary>
    public async Task<AdminProblem?> ChangePlanAsync(string? accountId, string id, string plan, string actor, CancellationToken cancellationToken)
    {
        var config = await _config(cancellationToken).ConfigureAwait(false);
        if (config is null || !PublicPlans(config).Any(p => p.Name == plan))
        {
            return Invalid("plan", $"'{plan}' is not a plan you can choose; pick one of the catalogue's plans.");
        }

        var wasPending = false;
        var (changed, problem) = await ChangeAsync(accountId, id, actor, "change plan to " + plan, app =>
        {
            wasPending = app.State == ApplicationState.Pending && app.Plan != plan;
            if (app.Plan == plan)
            {
                return (app, null);
            }

            var state = app.State == ApplicationState.Suspended ? ApplicationState.Suspended
                : config.Plans[plan].ApprovalRequired ? ApplicationState.Pending : ApplicationState.Live;
            return (app with { Plan = plan, State = state }, null);
        }, cancellationToken).ConfigureAwait(false);
        // A move onto a plan that needs approval waits for an administrator, who hears of it.
        if (problem is null && changed is { State: ApplicationState.Pending } && changed.Plan == plan && !wasPending && Notify is { } notify)
        {
            notify(new(ConsumerNoticeKind.ApplicationPending, "", changed.Title, plan));
        }

        return problem;
    }

    /// <summary>
    /// An administrator puts an application on a plan: any plan of the config but the anonymous one, hidden plans too (a
    /// tier given, not chosen, as "I add them to one of the service tiers" has it). Its state stays as it was: the
    /// administrator's move is the approval an approval plan asks for, and a suspended application stays suspended.
    /// </summary>
    public async Task<(PortalApplication? Application, AdminProblem? Problem)> MovePlanAsync(string id, string plan, string actor, CancellationToken cancellationToken)
    {
        var config = await _config(cancellationToken).ConfigureAwait(false);
        if (config is null || !config.Plans.TryGetValue(plan, out var chosen) || chosen.Anonymous)
        {
            var plans = config is null ? "" : string.Join(", ", config.Plans.Where(p => !p.Value.Anonymous).Select(p => p.Key));
            return (null, Invalid("plan", $"'{plan}' is not a plan an application can be on; use one of: {plans}."));
        }

        return await ChangeAsync(null, id, actor, "move to plan " + plan, app => (app with { Plan = plan }, null), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gives an application a new title or description (either may be null: unchanged), checked as when it was made.</summary>
    public async Task<AdminProblem?> RenameApplicationAsync(string? accountId, string id, string? title, string? description, string actor, CancellationToken cancellationToken)
    {
        title = title?.Trim();
        description = description?.Trim();
        if (((title is null ? null : CheckText(title, "title", 1, 100)) ?? (description is null ? null : CheckText(description, "description", 0, 1000))) is { } bad)
        {
            return bad;
        }

        return (await ChangeAsync(accountId, id, actor, "rename", app => (app with { Title = title ?? app.Title, Description = description ?? app.Description }, null), cancellationToken)
            .ConfigureAwait(false)).Problem;
    }

    /// <summary>The most OAuth client ids a portal application holds.</summary>
    public const int MaxClientIds = 20;

    /// <summary>
    /// Gives a portal application the OAuth client ids (replacing those it had) whose tokens mean it at the gateway, as a
    /// config application's <c>clientIds</c> do. Refused when one is invalid, is already a config application's (its
    /// <c>clientIds</c>, or its id when it names none: the config's are looked up first, so the portal's would never be
    /// found), or another portal application's.
    /// </summary>
    public async Task<(PortalApplication? Application, AdminProblem? Problem)> SetClientIdsAsync(string id, IReadOnlyList<string> clientIds, string actor, CancellationToken cancellationToken)
    {
        if (clientIds.Count > MaxClientIds)
        {
            return (null, Invalid("clientIds", $"An application holds at most {MaxClientIds} client ids."));
        }

        if (clientIds.FirstOrDefault(c => !IsClientId(c)) is { } bad)
        {
            return (null, Invalid("clientIds", $"'{bad}' is not a client id: 1 to 255 printable ASCII characters, no spaces."));
        }

        if (clientIds.Distinct(StringComparer.Ordinal).Count() != clientIds.Count)
        {
            return (null, Invalid("clientIds", "A client id is named twice."));
        }

        return await ChangeClientIdsAsync(null, id, clientIds, actor, "client ids", app => (app with { ClientIds = [.. clientIds] }, null), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds one client id to an application of <paramref name="accountId"/>'s (an OAuth client the portal registered for
    /// it), with the checks of <see cref="SetClientIdsAsync"/> and its bound of <see cref="MaxClientIds"/>.
    /// </summary>
    public async Task<(PortalApplication? Application, AdminProblem? Problem)> AddClientIdAsync(string? accountId, string id, string clientId, string actor, CancellationToken cancellationToken)
    {
        if (!IsClientId(clientId))
        {
            return (null, Invalid("clientId", $"'{clientId}' is not a client id: 1 to 255 printable ASCII characters, no spaces."));
        }

        return await ChangeClientIdsAsync(accountId, id, [clientId], actor, "add client id " + clientId, app =>
        {
            var held = app.ClientIds ?? [];
            return held.Contains(clientId, StringComparer.Ordinal) ? (app, null)
                : held.Count >= MaxClientIds ? (null, TooManyClientIds())
                : (app with { ClientIds = [.. held, clientId] }, null);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes one client id from an application of <paramref name="accountId"/>'s; not found when it does not hold it.</summary>
    public async Task<(PortalApplication? Application, AdminProblem? Problem)> RemoveClientIdAsync(string? accountId, string id, string clientId, string actor, CancellationToken cancellationToken) =>
        await ChangeAsync(accountId, id, actor, "remove client id " + clientId, app => app.ClientIds?.Contains(clientId, StringComparer.Ordinal) == true
            ? (app with { ClientIds = [.. app.ClientIds.Where(c => c != clientId)] }, null)
            : (null, AdminProblem.NotFound($"A client id '{clientId}' of this application")), cancellationToken).ConfigureAwait(false);

    /// <summary>Why the application cannot take one more client id (it holds <see cref="MaxClientIds"/>); null when it can.</summary>
    public static AdminProblem? CanAddClientId(PortalApplication application) =>
        (application.ClientIds?.Count ?? 0) >= MaxClientIds ? TooManyClientIds() : null;

    private static AdminProblem TooManyClientIds() => new(StatusCodes.Status409Conflict, "too-many-client-ids", "Too many client ids",
        string.Create(CultureInfo.InvariantCulture, $"An application holds at most {MaxClientIds} client ids; remove one it no longer uses first."));

    // OAuth's client_id is VSCHAR (RFC 6749, appendix A.1); spaces are left out too, which no provider gives.
    private static bool IsClientId(string clientId) => clientId.Length is > 0 and <= 255 && !clientId.Any(c => c is <= ' ' or > '~');

    // A change of client ids: none of `added` may be a config application's (its clientIds, or its id when it names none:
    // the config's are looked up first, so the portal's would never be found), nor another portal application's.
    private async Task<(PortalApplication? Application, AdminProblem? Problem)> ChangeClientIdsAsync(string? accountId, string id, IReadOnlyList<string> added, string actor, string action,
        Func<PortalApplication, (PortalApplication?, AdminProblem?)> change, CancellationToken cancellationToken)
    {
        if (await _config(cancellationToken).ConfigureAwait(false) is { } config)
        {
            foreach (var (name, app) in config.Applications)
            {
                if ((app.ClientIds.Count > 0 ? app.ClientIds : [name]).FirstOrDefault(added.Contains) is { } held)
                {
                    return (null, ClientIdTaken(held, $"the config's application '{name}'"));
                }
            }
        }

        try
        {
            return await ChangeAsync(accountId, id, actor, action, change, cancellationToken).ConfigureAwait(false);
        }
        catch (Stores.ClientIdTakenException e)
        {
            return (null, ClientIdTaken(e.ClientId, $"portal application '{e.Application}'"));
        }
    }

    /// <summary>The most addresses and ranges an application's owner may list.</summary>
    public const int MaxAllowedAddresses = 50;

    /// <summary>
    /// Sets the addresses (IPs and CIDR ranges) an application of <paramref name="accountId"/>'s may call from, replacing
    /// those it had; empty: any. They narrow what its plan allows, never widen it. Each entry is written out in full, as
    /// in the config's <c>ipFilter</c>; duplicates are dropped.
    /// </summary>
    public async Task<(PortalApplication? Application, AdminProblem? Problem)> SetAllowedAddressesAsync(string? accountId, string id, IReadOnlyList<string> addresses, string actor,
        CancellationToken cancellationToken)
    {
        var list = addresses.Select(a => a.Trim()).Where(a => a.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (list.Count > MaxAllowedAddresses)
        {
            return (null, Invalid("allowedAddresses", $"An application lists at most {MaxAllowedAddresses} addresses or ranges; use wider ranges."));
        }

        foreach (var address in list)
        {
            if ((address.Length > 64 ? "An entry is longer than an address or range can be." : Model.Validation.ConfigValidator.CheckProxy(address)) is { } why)
            {
                return (null, Invalid("allowedAddresses", why));
            }
        }

        return await ChangeAsync(accountId, id, actor, list.Count == 0 ? "allow any address" : "allow addresses " + string.Join(", ", list), app =>
            (app.AllowedAddresses ?? []).SequenceEqual(list, StringComparer.Ordinal) ? (app, null) : (app with { AllowedAddresses = list.Count == 0 ? null : list }, null),
            cancellationToken).ConfigureAwait(false);
    }

    private static AdminProblem ClientIdTaken(string clientId, string holder) => new(StatusCodes.Status409Conflict, "client-id-taken", "Client id taken",
        $"Client id '{clientId}' already belongs to {holder}; a client id means one application. Nothing was changed.");

    public async Task<AdminProblem?> DeleteApplicationAsync(string? accountId, string id, string actor, CancellationToken cancellationToken) =>
        (await ChangeAsync(accountId, id, actor, "delete", app => (app with { Deleted = true, Keys = [], ClientIds = null }, null), cancellationToken).ConfigureAwait(false)).Problem;

    /// <summary>
    /// An administrator's decision on an application: <c>approve</c> and <c>reject</c> take a pending one to live or
    /// suspended; <c>suspend</c> and <c>resume</c> take a live one to suspended and a suspended one to live.
    /// </summary>
    public async Task<AdminProblem?> DecideApplicationAsync(string id, string verb, string actor, CancellationToken cancellationToken)
    {
        var (from, to) = Transition<ApplicationState>(verb, ApplicationState.Pending, ApplicationState.Live, ApplicationState.Suspended);
        var (application, problem) = await ChangeAsync(null, id, actor, verb, app => app.State == from
            ? (app with { State = to }, null)
            : (null, NotInState("application", id, Name(app.State), Name(from), verb)), cancellationToken).ConfigureAwait(false);
        // An approval or a refusal ends a consumer's wait: they hear of it (suspensions are the operators' business).
        if (problem is null && application is not null && Notify is { } notify && verb is "approve" or "reject"
            && await _store.GetAccountAsync(application.Account, cancellationToken).ConfigureAwait(false) is { } owner)
        {
            notify(new(verb == "approve" ? ConsumerNoticeKind.ApplicationApproved : ConsumerNoticeKind.ApplicationRejected, owner.Email, application.Title, application.Plan));
        }

        return problem;
    }

    /// <summary>
    /// Told of decisions a consumer should hear of (<see cref="ConsumerNotice"/>); set by the portal of this process when
    /// it sends mail. Called after the change is stored, and must not block (the portal queues the mail).
    /// </summary>
    public Action<ConsumerNotice>? Notify { get; set; }

    /// <summary>The same decisions for an account; a suspended account's applications are refused at the gateway.</summary>
    public async Task<AdminProblem?> DecideAccountAsync(string id, string verb, string actor, CancellationToken cancellationToken)
    {
        var (from, to) = Transition<AccountState>(verb, AccountState.Pending, AccountState.Active, AccountState.Suspended);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var account = await _store.GetAccountAsync(id, cancellationToken).ConfigureAwait(false);
            if (account is null)
            {
                return AdminProblem.NotFound($"Account '{id}'");
            }

            if (account.State != from)
            {
                return NotInState("account", id, Name(account.State), Name(from), verb);
            }

            if (await _store.UpdateAccountAsync(account with { State = to, Stamp = NewStamp() }, actor, verb, cancellationToken).ConfigureAwait(false))
            {
                await FollowAsync(cancellationToken).ConfigureAwait(false);
                if (verb is "approve" or "reject")
                {
                    Notify?.Invoke(new(verb == "approve" ? ConsumerNoticeKind.AccountApproved : ConsumerNoticeKind.AccountRejected, account.Email));
                }

                return null;
            }
        }

        return Busy();
    }

    private static (T From, T To) Transition<T>(string verb, T pending, T live, T suspended) => verb switch
    {
        "approve" => (pending, live),
        "reject" => (pending, suspended),
        "suspend" => (live, suspended),
        "resume" => (suspended, live),
        _ => throw new ArgumentOutOfRangeException(nameof(verb), verb, "approve, reject, suspend or resume"),
    };

    // Read, decide, save based on what was read; another writer in between means read again.
    private async Task<(PortalApplication? Application, AdminProblem? Problem)> ChangeAsync(
        string? accountId, string id, string actor, string action, Func<PortalApplication, (PortalApplication?, AdminProblem?)> decide, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var application = await FindAsync(accountId, id, cancellationToken).ConfigureAwait(false);
            if (application is null)
            {
                return (null, AdminProblem.NotFound($"Application '{id}'"));
            }

            var (changed, problem) = decide(application);
            if (problem is not null)
            {
                return (null, problem);
            }

            if (changed == application)
            {
                return (application, null);
            }

            if (await _store.SaveApplicationAsync(changed!, application.Seq, actor, action, cancellationToken).ConfigureAwait(false) is { } seq)
            {
                await FollowAsync(cancellationToken).ConfigureAwait(false);
                return (changed! with { Seq = seq }, null);
            }
        }

        return (null, Busy());
    }

    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        if (_follower is not null)
        {
            await _follower.CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private (string Key, ConsumerKey Entry) NewKey(IReadOnlyCollection<ConsumerKey> existing, DateTimeOffset? expires = null)
    {
        // The prefix names a key (to rotate or revoke it), so it must be unique within the application.
        while (true)
        {
            var key = ApiKeyHash.NewKey();
            var prefix = ApiKeyHash.DisplayPrefix(key);
            if (existing.All(k => k.Prefix != prefix))
            {
                var now = DateTimeOffset.FromUnixTimeSeconds(_time.GetUtcNow().ToUnixTimeSeconds());
                return (key, new ConsumerKey(ApiKeyHash.Sha256Hex(key), prefix, now, expires));
            }
        }
    }

    /// <summary>A random id: <paramref name="prefix"/> and 12 lower-case base32 characters (60 bits).</summary>
    public static string NewId(string prefix)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        Span<byte> random = stackalloc byte[12];
        RandomNumberGenerator.Fill(random);
        var chars = new char[12];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[random[i] % 32];
        }

        return prefix + new string(chars);
    }

    /// <summary>A new session stamp for an account: every session made with the old one ends.</summary>
    internal static string NewStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static AdminProblem? CheckEmail(string email)
    {
        // MailAddress accepts display names and comments; an address is only what it parses back to.
        if (email.Length is 0 or > 254 || !MailAddress.TryCreate(email, out var parsed) || parsed.Address != email || !email.Contains('.', StringComparison.Ordinal))
        {
            return Invalid("email", "Enter an email address such as ada@example.com.");
        }

        return null;
    }

    public static AdminProblem? CheckText(string text, string field, int min, int max)
    {
        if (text.Length < min || text.Length > max)
        {
            return Invalid(field, min == 0
                ? string.Create(CultureInfo.InvariantCulture, $"The {field} may be at most {max} characters long.")
                : string.Create(CultureInfo.InvariantCulture, $"Enter a {field} of {min} to {max} characters."));
        }

        if (text.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
        {
            return Invalid(field, $"The {field} may not hold control characters.");
        }

        return null;
    }

    public static AdminProblem Invalid(string field, string message) =>
        new(StatusCodes.Status422UnprocessableEntity, "invalid-input", "Invalid input", message, new System.Text.Json.Nodes.JsonObject { ["field"] = field });

    private static AdminProblem Overloaded() => new(StatusCodes.Status503ServiceUnavailable, "portal-busy", "Too many at once",
        "Too many sign-ups and sign-ins are being checked at this moment; nothing was changed. Try again in a few seconds.");

    private static AdminProblem Busy() => new(StatusCodes.Status409Conflict, "consumer-conflict", "Changed meanwhile",
        "The application or account was changed by someone else several times while this change was made; nothing was changed. Try again.");

    private static AdminProblem NotInState(string kind, string id, string now, string needed, string verb) => new(
        StatusCodes.Status409Conflict,
        $"{kind}-not-{needed}",
        $"The {kind} is not {needed}",
        $"{char.ToUpperInvariant(kind[0])}{kind[1..]} '{id}' is {now}; only a {needed} {kind} can be {(verb.EndsWith('e') ? verb + "d" : verb + "ed")}.");
}
