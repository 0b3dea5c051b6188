using System.Text.RegularExpressions;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Management.Tests.Stores;

// Issue #18: consumer data, on both databases.
public abstract partial class ConfigStoreTests
{
    private ConsumerAccount NewAccount(string id, string email, AccountState state = AccountState.Active) =>
        new(id, email, "Title of " + id, "HASH-" + id, state, "stamp", Clock.GetUtcNow(), 1);

    private PortalApplication NewApplication(string id, string account, string plan = "retail") =>
        new(id, account, "App " + id, "", plan, ApplicationState.Live, [new ConsumerKey(new string('a', 64), "ghk_abcd", Clock.GetUtcNow(), null)], Clock.GetUtcNow());

    [Fact]
    [Trait("Issue", "18")]
    public async Task LoginAttempts_FortyAtOnceOnTwoNodes_CountTen_AndTheRestWaitForTheOldestToLeaveTheWindow()
    {
        // Two stores on one database are two control-plane nodes: forty attempts at one account, at once, half on each.
        var other = await OpenAsync(Clock);
        var window = TimeSpan.FromMinutes(1);
        var start = Clock.GetUtcNow();
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? Store : other)
            .TryCountLoginAttemptAsync([("a:target@example.com", 10), ($"i:10.0.0.{i}", 100)], start, window)));

        Assert.Equal(10, results.Count(r => r.Ids is not null));
        Assert.All(results.Where(r => r.Ids is null), r => Assert.Equal(start + window, r.RetryAt));
        Assert.All(results.Where(r => r.Ids is not null), r => Assert.Equal(2, r.Ids!.Count));

        // An address at its limit refuses whatever account it tries.
        Clock.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 3; i++)
        {
            Assert.NotNull((await other.TryCountLoginAttemptAsync([($"a:user{i}@example.com", 10), ("i:10.9.9.9", 3)], Clock.GetUtcNow(), window)).Ids);
        }

        Assert.Null((await Store.TryCountLoginAttemptAsync([("a:user9@example.com", 10), ("i:10.9.9.9", 3)], Clock.GetUtcNow(), window)).Ids);

        // Forgetting the account's attempts (a right password) lets it try again at once; so does the window's end.
        await other.ForgetLoginAttemptsAsync("a:target@example.com", []);
        Assert.NotNull((await Store.TryCountLoginAttemptAsync([("a:target@example.com", 10), ("i:10.0.0.99", 100)], Clock.GetUtcNow(), window)).Ids);
        Clock.Advance(window);
        Assert.NotNull((await Store.TryCountLoginAttemptAsync([("a:user9@example.com", 10), ("i:10.9.9.9", 3)], Clock.GetUtcNow(), window)).Ids);

        // That attempt also deleted every other key's rows past the window: no typed address or client address stays.
        Assert.Equal(0, await CountSqlAsync("SELECT COUNT(*) FROM login_attempts WHERE key LIKE 'i:10.0.0.%' OR key = 'a:target@example.com'"));
        Assert.Equal(2, await CountSqlAsync("SELECT COUNT(*) FROM login_attempts"));
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task CountedKeys_KeepTheirOwnWindow_WhenAnotherKeysAttemptDeletesOldRows()
    {
        // A mail's count lives an hour (PortalMail), a sign-in's a minute; the old rows each attempt deletes are those past
        // their own window, not past the attempt's.
        var other = await OpenAsync(Clock);
        var hour = TimeSpan.FromHours(1);
        for (var i = 0; i < 2; i++)
        {
            Assert.NotNull((await (i == 0 ? Store : other).TryCountLoginAttemptAsync([("m:recipient", 2)], Clock.GetUtcNow(), hour)).Ids);
        }

        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.NotNull((await Store.TryCountLoginAttemptAsync([("a:someone@example.com", 10), ("i:10.1.1.1", 100)], Clock.GetUtcNow(), TimeSpan.FromMinutes(1))).Ids);
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.NotNull((await other.TryCountLoginAttemptAsync([("a:another@example.com", 10), ("i:10.1.1.2", 100)], Clock.GetUtcNow(), TimeSpan.FromMinutes(1))).Ids);

        // The sign-in's rows of five minutes ago are gone; the mail's of ten minutes ago still count.
        Assert.Equal(0, await CountSqlAsync("SELECT COUNT(*) FROM login_attempts WHERE key IN ('a:someone@example.com', 'i:10.1.1.1')"));
        var refused = await other.TryCountLoginAttemptAsync([("m:recipient", 2)], Clock.GetUtcNow(), hour);
        Assert.Null(refused.Ids);
        Assert.Equal(Clock.GetUtcNow() - TimeSpan.FromMinutes(10) + hour, refused.RetryAt);

        Clock.Advance(hour);
        Assert.NotNull((await Store.TryCountLoginAttemptAsync([("m:recipient", 2)], Clock.GetUtcNow(), hour)).Ids);
        Assert.Equal(1, await CountSqlAsync("SELECT COUNT(*) FROM login_attempts"));
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task ConsumerAccounts_EmailIsUnique_UpdatesNameTheVersionTheyRead()
    {
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "portal:ada@example.com"));
        Assert.False(await Store.InsertAccountAsync(NewAccount("acc-2", "ada@example.com"), "portal:ada@example.com"));
        Assert.Null(await Store.GetAccountAsync("acc-2"));

        var read = (await Store.FindAccountByEmailAsync("ada@example.com"))!;
        Assert.True(await Store.UpdateAccountAsync(read with { Title = "Ada" }, "console:root", "rename"));
        Assert.False(await Store.UpdateAccountAsync(read with { Title = "Lost update" }, "console:root", "rename"));
        Assert.Equal("Ada", (await Store.GetAccountAsync("acc-1"))!.Title);
        Assert.Equal(2, (await Store.GetAccountAsync("acc-1"))!.Version);
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task ConsumerApplications_SaveNamesTheSeqItRead_NoConfigRevision()
    {
        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "portal");
        var seq = await Store.SaveApplicationAsync(NewApplication("app-1", "acc-1"), 0, "portal:ada", "create");
        Assert.NotNull(seq);
        Assert.Null(await Store.SaveApplicationAsync(NewApplication("app-1", "acc-1"), 0, "portal:ada", "create"));

        var read = (await Store.GetApplicationAsync("app-1"))!;
        Assert.Equal(seq, read.Seq);
        Assert.NotNull(await Store.SaveApplicationAsync(read with { Plan = "gold" }, read.Seq, "portal:ada", "change plan"));
        Assert.Null(await Store.SaveApplicationAsync(read with { Plan = "lost" }, read.Seq, "portal:ada", "change plan"));
        Assert.Equal("gold", (await Store.GetApplicationAsync("app-1"))!.Plan);

        // Consumer changes are not config revisions.
        Assert.Equal(0, await Store.CurrentRevisionAsync());
        Assert.Empty(await Store.ListAuditAsync());
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task ReadApplicationsSince_ReturnsEachChangeOnce_DeletesAsTombstones_AccountSuspensionReannounces()
    {
        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "portal");
        await Store.SaveApplicationAsync(NewApplication("app-1", "acc-1"), 0, "a", "create");
        await Store.SaveApplicationAsync(NewApplication("app-2", "acc-1"), 0, "a", "create");
        var (all, seq) = await Store.ReadApplicationsSinceAsync(0);
        Assert.Equal(["app-1", "app-2"], all.Select(a => a.Id).Order());

        var (none, same) = await Store.ReadApplicationsSinceAsync(seq);
        Assert.Empty(none);
        Assert.Equal(seq, same);

        var app2 = (await Store.GetApplicationAsync("app-2"))!;
        await Store.SaveApplicationAsync(app2 with { Deleted = true, Keys = [] }, app2.Seq, "a", "delete");
        var (deleted, seq2) = await Store.ReadApplicationsSinceAsync(seq);
        Assert.True(Assert.Single(deleted).Deleted);
        Assert.Null(await Store.GetApplicationAsync("app-2"));

        var account = (await Store.GetAccountAsync("acc-1"))!;
        await Store.UpdateAccountAsync(account with { State = AccountState.Suspended }, "console:root", "suspend");
        var (again, _) = await Store.ReadApplicationsSinceAsync(seq2);
        var app1 = Assert.Single(again, a => !a.Deleted);
        Assert.Equal(ApplicationState.Suspended, app1.EffectiveState);
        Assert.Equal(ApplicationState.Live, app1.State);
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task ConsumerChangeLog_NamesActorAndAction_NeverThePasswordHash()
    {
        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "portal:ada@example.com");
        var account = (await Store.GetAccountAsync("acc-1"))!;
        await Store.UpdateAccountAsync(account with { PasswordHash = "HASH-NEW" }, "portal:ada@example.com", "password");
        await Store.SaveApplicationAsync(NewApplication("app-1", "acc-1"), 0, "portal:ada@example.com", "create");

        var log = await Store.ListConsumerChangesAsync(null, 50);
        Assert.Equal(["create", "password", "create"], log.Select(c => c.Action).Reverse());
        Assert.All(log, c => Assert.Equal("portal:ada@example.com", c.Actor));
        Assert.All(log, c => Assert.DoesNotContain("HASH-", (c.Before ?? "") + c.After, StringComparison.Ordinal));
        Assert.Equal([3L, 2L, 1L], log.Select(c => c.Seq));
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task Tokens_AreTakenOnce_AndNotAfterExpiry()
    {
        var now = Clock.GetUtcNow();
        await Store.SaveTokenAsync("h1", "reset", "acc-1", now.AddMinutes(30));
        await Store.SaveTokenAsync("h2", "reset", "acc-1", now.AddMinutes(30));
        Assert.Null(await Store.TakeTokenAsync("h1", "other-purpose", now));
        Assert.Null(await Store.TakeTokenAsync("h1", "reset", now));
        Assert.Null(await Store.TakeTokenAsync("h2", "reset", now.AddMinutes(31)));
        await Store.SaveTokenAsync("h3", "reset", "acc-1", now.AddMinutes(30));
        Assert.Equal("acc-1", await Store.TakeTokenAsync("h3", "reset", now));
        Assert.Null(await Store.TakeTokenAsync("h3", "reset", now));
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task ConcurrentApplicationCreates_FromTwoStoreInstances_GetDistinctOrderedSeqs()
    {
        var other = await OpenAsync();
        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "portal");
        var writes = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? Store : other).SaveApplicationAsync(NewApplication($"app-{i}", "acc-1"), 0, "a", "create"));
        var seqs = await Task.WhenAll(writes);
        Assert.Equal(20, seqs.Distinct().Count());
        var (all, newest) = await Store.ReadApplicationsSinceAsync(0);
        Assert.Equal(20, all.Count);
        Assert.Equal(21, newest);
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task DeleteAccount_RefusesWhileAnApplicationLives_ThenTakesTheAddressOutOfTheLog()
    {
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-1", "gone@example.com"), "portal:gone@example.com"));
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-2", "kept@example.com"), "portal:kept@example.com"));
        Assert.NotNull(await Store.SaveApplicationAsync(NewApplication("app-1", "acc-1") with { Title = "Secret project" }, 0, "portal:gone@example.com", "create"));
        Assert.NotNull(await Store.SaveApplicationAsync(NewApplication("app-2", "acc-2"), 0, "portal:kept@example.com", "create"));

        Assert.False(await Store.DeleteAccountAsync("acc-1", "portal:gone@example.com"));
        var app = (await Store.GetApplicationAsync("app-1"))!;
        Assert.NotNull(await Store.SaveApplicationAsync(app with { Deleted = true, Keys = [] }, app.Seq, "portal:gone@example.com", "delete"));
        Assert.True(await Store.DeleteAccountAsync("acc-1", "portal:gone@example.com"));
        Assert.False(await Store.DeleteAccountAsync("acc-1", "admin-api"));

        Assert.Null(await Store.GetAccountAsync("acc-1"));
        var changes = await Store.ListConsumerChangesAsync(null, 100);
        var log = string.Join("\n", changes.Select(c => $"{c.Actor} {c.Action} {c.Kind} {c.Name} {c.Before} {c.After}"));
        Assert.DoesNotContain("gone@example.com", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Secret project", log, StringComparison.Ordinal);
        Assert.Contains("kept@example.com", log, StringComparison.Ordinal);
        Assert.Equal(["portal:acc-1 delete account acc-1", "portal:acc-1 delete application app-1"],
            changes.Where(c => c.Action == "delete").Select(c => $"{c.Actor} {c.Action} {c.Kind} {c.Name}"));
        // The deleted application's row stays for the nodes, without its title; it was never live again.
        var (rows, _) = await Store.ReadApplicationsSinceAsync(0);
        Assert.Equal(("", true), rows.Where(r => r.Id == "app-1").Select(r => (r.Title, r.Deleted)).Single());
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task ChangeAccountEmail_RefusesATakenAddress_EndsLinks_AndADeletionLaterForgetsEveryAddressTheAccountHad()
    {
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-1", "first@example.com"), "portal:first@example.com"));
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-2", "other@example.com"), "portal:other@example.com"));
        await Store.SaveTokenAsync(new string('c', 64), "password-reset", "acc-1", Clock.GetUtcNow() + TimeSpan.FromMinutes(30));
        await Store.SaveTokenAsync(new string('d', 64), "change-email", "acc-1", Clock.GetUtcNow() + TimeSpan.FromHours(1), detail: "second@example.com");
        Assert.Equal(("acc-1", "second@example.com"), await Store.TakeTokenWithDetailAsync(new string('d', 64), "change-email", Clock.GetUtcNow()));
        var before = (await Store.GetAccountAsync("acc-1"))!;

        Assert.False(await Store.ChangeAccountEmailAsync("acc-1", "other@example.com", "stamp-x", "portal:first@example.com"));
        Assert.Null(await Store.ChangeAccountEmailAsync("acc-9", "nine@example.com", "stamp-x", "admin-api"));
        Assert.Equal("first@example.com", (await Store.GetAccountAsync("acc-1"))!.Email);
        Assert.True(await Store.ChangeAccountEmailAsync("acc-1", "second@example.com", "stamp-2", "portal:first@example.com"));

        var after = (await Store.GetAccountAsync("acc-1"))!;
        Assert.Equal(("second@example.com", "stamp-2", before.Version + 1), (after.Email, after.Stamp, after.Version));
        Assert.Null(await Store.FindAccountByEmailAsync("first@example.com"));
        Assert.Equal("acc-1", (await Store.FindAccountByEmailAsync("second@example.com"))?.Id);
        // A reset link mailed to the old address no longer works.
        Assert.Null(await Store.TakeTokenAsync(new string('c', 64), "password-reset", Clock.GetUtcNow()));
        var change = (await Store.ListConsumerChangesAsync(null, 100)).Single(c => c.Action == "email");
        Assert.Equal(("portal:first@example.com", "account", "acc-1"), (change.Actor, change.Kind, change.Name));
        Assert.Contains("first@example.com", change.Before, StringComparison.Ordinal);
        Assert.Contains("second@example.com", change.After, StringComparison.Ordinal);

        Assert.NotNull(await Store.SaveApplicationAsync(NewApplication("app-1", "acc-1"), 0, "portal:second@example.com", "create"));
        var app = (await Store.GetApplicationAsync("app-1"))!;
        Assert.NotNull(await Store.SaveApplicationAsync(app with { Deleted = true, Keys = [] }, app.Seq, "portal:second@example.com", "delete"));
        Assert.True(await Store.DeleteAccountAsync("acc-1", "portal:second@example.com"));

        // Both addresses leave the log, as the account's actor and in its entries; the other account's stays.
        var log = string.Join("\n", (await Store.ListConsumerChangesAsync(null, 100)).Select(c => $"{c.Actor} {c.Action} {c.Kind} {c.Name} {c.Before} {c.After}"));
        Assert.DoesNotContain("first@example.com", log, StringComparison.Ordinal);
        Assert.DoesNotContain("second@example.com", log, StringComparison.Ordinal);
        Assert.Contains("portal:acc-1 email account acc-1", log, StringComparison.Ordinal);
        Assert.Contains("other@example.com", log, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task AConsoleUsersOwnNewPassword_IsSetOnlyOverTheRecordItWasCheckedAgainst_NeverRecreatingOrRestoringARole()
    {
        var at = Clock.GetUtcNow();
        await Store.UpsertAdminUserAsync(new AdminUser("self@example.com", "hash-1", AdminRole.Admin, at), "admin-api");
        await Store.UpsertAdminUserAsync(new AdminUser("gone@example.com", "hash-g", AdminRole.Admin, at), "admin-api");

        // Demoted (a new record) while the old password was being checked: the change is refused, the role stays viewer.
        await Store.UpsertAdminUserAsync(new AdminUser("self@example.com", "hash-2", AdminRole.Viewer, at), "admin-api");
        Assert.False(await Store.ChangeAdminUserPasswordAsync("self@example.com", "hash-1", "hash-new", "console:self@example.com"));
        Assert.Equal(("hash-2", AdminRole.Viewer), ((await Store.GetAdminUserAsync("self@example.com"))!.PasswordHash, (await Store.GetAdminUserAsync("self@example.com"))!.Role));

        // Deleted meanwhile: not made again.
        Assert.True(await Store.DeleteAdminUserAsync("gone@example.com", "admin-api"));
        Assert.False(await Store.ChangeAdminUserPasswordAsync("gone@example.com", "hash-g", "hash-new", "console:gone@example.com"));
        Assert.Null(await Store.GetAdminUserAsync("gone@example.com"));

        Assert.True(await Store.ChangeAdminUserPasswordAsync("self@example.com", "hash-2", "hash-3", "console:self@example.com"));
        var now = (await Store.GetAdminUserAsync("self@example.com"))!;
        Assert.Equal(("hash-3", AdminRole.Viewer), (now.PasswordHash, now.Role));
        var change = (await Store.ListConsumerChangesAsync(null, 1)).Single();
        Assert.Equal(("console:self@example.com", "update", "console-user", "self@example.com"), (change.Actor, change.Action, change.Kind, change.Name));
        Assert.Contains("\"passwordChanged\":true", change.After, StringComparison.Ordinal);
        Assert.DoesNotContain("hash-", change.After + change.Before, StringComparison.Ordinal);
    }

    /// <summary>
    /// Single sign-on bindings: an owner is bound to one provider identity (issuer and subject) per kind, an identity to
    /// one owner per kind (a console user and a portal account may share one), a release lets another identity bind,
    /// and deleting the owner drops its binding. Binding and release are in the change log.
    /// </summary>
    [Fact]
    [Trait("Issue", "18")]
    public async Task SingleSignOnBindings_OneIdentityPerOwner_AndOneOwnerPerIdentity()
    {
        const string Issuer = "https://login.example.com";
        await Store.UpsertAdminUserAsync(new AdminUser("alice@example.com", "hash-1", AdminRole.Admin, Clock.GetUtcNow()), "admin-api");
        Assert.Null(await Store.FindSsoOwnerAsync("console-user", Issuer, "sub-alice"));
        Assert.Equal(SsoLinkOutcome.Linked, await Store.LinkSsoAsync("console-user:alice@example.com", Issuer, "sub-alice", "console:alice@example.com", "console-user"));
        Assert.Equal(SsoLinkOutcome.Same, await Store.LinkSsoAsync("console-user:alice@example.com", Issuer, "sub-alice", "console:alice@example.com", "console-user"));
        Assert.Equal("console-user:alice@example.com", await Store.FindSsoOwnerAsync("console-user", Issuer, "sub-alice"));
        Assert.Null(await Store.FindSsoOwnerAsync("console-user", "https://other.example.com", "sub-alice")); // the issuer is part of it

        Assert.Equal(SsoLinkOutcome.OwnerLinkedElsewhere, await Store.LinkSsoAsync("console-user:alice@example.com", Issuer, "sub-mallory", "x", "console-user"));
        Assert.Equal(SsoLinkOutcome.IdentityLinkedElsewhere, await Store.LinkSsoAsync("console-user:bob@example.com", Issuer, "sub-alice", "x", "console-user"));
        // The same identity may also have a portal account.
        Assert.Equal(SsoLinkOutcome.Linked, await Store.LinkSsoAsync("acc-alice", Issuer, "sub-alice", "portal:alice@example.com", "account"));
        Assert.Equal("acc-alice", await Store.FindSsoOwnerAsync("account", Issuer, "sub-alice"));

        Assert.True(await Store.UnlinkSsoAsync("console-user:alice@example.com", "admin-api", "console-user"));
        Assert.False(await Store.UnlinkSsoAsync("console-user:alice@example.com", "admin-api", "console-user"));
        Assert.Equal(SsoLinkOutcome.Linked, await Store.LinkSsoAsync("console-user:alice@example.com", Issuer, "sub-mallory", "console:alice@example.com", "console-user"));
        Assert.True(await Store.DeleteAdminUserAsync("alice@example.com", "admin-api"));
        Assert.Null(await Store.FindSsoOwnerAsync("console-user", Issuer, "sub-mallory"));

        var changes = await Store.ListConsumerChangesAsync(null, 20);
        Assert.Equal(3, changes.Count(c => c.Action == "sso-link"));
        var unlink = Assert.Single(changes, c => c.Action == "sso-unlink");
        Assert.Equal(("admin-api", "console-user", "console-user:alice@example.com"), (unlink.Actor, unlink.Kind, unlink.Name));
        Assert.Contains("sub-alice", unlink.Before!, StringComparison.Ordinal);
    }

    /// <summary>
    /// Portal API tokens in the store: found by hash (with their scope, expiry and last use), unique by name within an
    /// account, at most so many an account, only for an account that exists, deleted by name or with the account, and
    /// in the change log without the hash.
    /// </summary>
    [Fact]
    [Trait("Issue", "18")]
    public async Task PortalTokens_AreFoundByHash_NamedOncePerAccount_Bounded_AndGoWithTheAccount()
    {
        var at = Clock.GetUtcNow();
        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "portal:ada@example.com");
        await Store.InsertAccountAsync(NewAccount("acc-2", "bob@example.com"), "portal:bob@example.com");
        var hash = new string('a', 64);
        var ci = new PortalToken("acc-1", "ci", "ghc_abcd", PortalTokenScope.Write, at, at.AddDays(30));
        Assert.Equal(PortalTokenAdded.Added, await Store.AddPortalTokenAsync(ci, hash, 2, "portal:ada@example.com"));
        Assert.Equal(PortalTokenAdded.NameTaken, await Store.AddPortalTokenAsync(ci with { Scope = PortalTokenScope.Read }, new string('b', 64), 2, "x"));
        Assert.Equal(PortalTokenAdded.Added, await Store.AddPortalTokenAsync(ci with { Account = "acc-2" }, new string('c', 64), 2, "portal:bob@example.com"));
        Assert.Equal(PortalTokenAdded.Added, await Store.AddPortalTokenAsync(ci with { Name = "read", Scope = PortalTokenScope.Read, ExpiresAt = null }, new string('d', 64), 2, "x"));
        Assert.Equal(PortalTokenAdded.TooMany, await Store.AddPortalTokenAsync(ci with { Name = "third" }, new string('e', 64), 2, "x"));
        Assert.Equal(PortalTokenAdded.NoAccount, await Store.AddPortalTokenAsync(ci with { Account = "acc-gone" }, new string('f', 64), 2, "x"));

        var found = await Store.FindPortalTokenAsync(hash);
        Assert.Equal(ci, found);
        Assert.Null(await Store.FindPortalTokenAsync(new string('e', 64)));
        Assert.Null((await Store.FindPortalTokenAsync(new string('d', 64)))!.ExpiresAt);
        await Store.TouchPortalTokenAsync(hash, at.AddHours(2));
        Assert.Equal(at.AddHours(2), (await Store.FindPortalTokenAsync(hash))!.LastUsedAt);
        Assert.Equal(["ci", "read"], (await Store.ListPortalTokensAsync("acc-1")).Select(t => t.Name));
        var counts = await Store.CountPortalTokensAsync(["acc-1", "acc-2", "acc-none"]);
        Assert.Equal([("acc-1", 2), ("acc-2", 1)], counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value)));
        Assert.Empty(await Store.CountPortalTokensAsync([]));

        Assert.True(await Store.DeletePortalTokenAsync("acc-1", "ci", "admin-api"));
        Assert.False(await Store.DeletePortalTokenAsync("acc-1", "ci", "admin-api"));
        Assert.Null(await Store.FindPortalTokenAsync(hash));
        Assert.NotNull(await Store.FindPortalTokenAsync(new string('c', 64))); // bob's of the same name stays

        var changes = await Store.ListConsumerChangesAsync(null, 50);
        Assert.Equal(3, changes.Count(c => c.Action == "token-create"));
        var revoke = Assert.Single(changes, c => c.Action == "token-revoke");
        Assert.Equal(("admin-api", "account", "acc-1"), (revoke.Actor, revoke.Kind, revoke.Name));
        Assert.Contains("\"token\":\"ci\"", revoke.Before!, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, string.Concat(changes.Select(c => c.Before + c.After)), StringComparison.Ordinal);

        // The account deleted: its tokens go, and what its change log said of them with the rest of its bodies.
        Assert.True(await Store.DeleteAccountAsync("acc-1", "admin-api"));
        Assert.Empty(await Store.ListPortalTokensAsync("acc-1"));
        Assert.Null(await Store.FindPortalTokenAsync(new string('d', 64)));
        Assert.All((await Store.ListConsumerChangesOfAsync("account", "acc-1", 50)).Where(c => c.Action.StartsWith("token-", StringComparison.Ordinal)),
            c => Assert.Null(c.Before ?? c.After));
    }

    /// <summary>
    /// Reminders in the store: a reminder is claimed by one caller only (on any node), and forgotten once its time has
    /// passed; tokens expiring in a window are found across accounts.
    /// </summary>
    [Fact]
    [Trait("Issue", "18")]
    public async Task Reminders_AreClaimedOnce_AndForgottenAfterTheirTime_AndExpiringTokensAreFoundAcrossAccounts()
    {
        var now = Clock.GetUtcNow();
        Assert.True(await Store.ClaimReminderAsync("expiry:key:app-1:ghk_a:1", now.AddDays(7), now));
        Assert.False(await Store.ClaimReminderAsync("expiry:key:app-1:ghk_a:1", now.AddDays(7), now));
        Assert.True(await Store.ClaimReminderAsync("expiry:key:app-1:ghk_a:2", now.AddDays(7), now));
        Assert.False(await Store.ClaimReminderAsync("expiry:key:app-1:ghk_a:1", now.AddDays(7), now.AddDays(6)));
        Assert.True(await Store.ClaimReminderAsync("expiry:key:app-1:ghk_a:1", now.AddDays(8), now.AddDays(8))); // forgotten, then claimed again

        await Store.InsertAccountAsync(NewAccount("acc-1", "ada@example.com"), "portal:ada@example.com");
        await Store.InsertAccountAsync(NewAccount("acc-2", "bob@example.com"), "portal:bob@example.com");
        var token = new PortalToken("acc-1", "soon", "ghc_aaaa", PortalTokenScope.Read, now, now.AddDays(3));
        Assert.Equal(PortalTokenAdded.Added, await Store.AddPortalTokenAsync(token, new string('a', 64), 20, "x"));
        Assert.Equal(PortalTokenAdded.Added, await Store.AddPortalTokenAsync(token with { Account = "acc-2", Name = "later", ExpiresAt = now.AddDays(30) }, new string('b', 64), 20, "x"));
        Assert.Equal(PortalTokenAdded.Added, await Store.AddPortalTokenAsync(token with { Account = "acc-2", Name = "never", ExpiresAt = null }, new string('c', 64), 20, "x"));
        Assert.Equal(PortalTokenAdded.Added, await Store.AddPortalTokenAsync(token with { Account = "acc-2", Name = "gone", ExpiresAt = now.AddDays(-1) }, new string('d', 64), 20, "x"));
        Assert.Equal(["soon"], (await Store.ListPortalTokensExpiringAsync(now, now.AddDays(7))).Select(t => t.Name));
        Assert.Equal(["soon", "later"], (await Store.ListPortalTokensExpiringAsync(now, now.AddDays(30))).Select(t => t.Name));
    }

    /// <summary>
    /// Two-step sign-in in the store: an authenticator code's step is taken only when later than the last one (and only
    /// against the secret it was checked with), a recovery code once; turning it on with the user's own password applies
    /// only over the record checked, and an administrator's reset drops the secret and the codes. The log says which,
    /// never a secret or a code.
    /// </summary>
    [Fact]
    [Trait("Issue", "18")]
    public async Task AConsoleUsersSecondStepCodes_AreTakenOnce_AndOnlyAgainstTheSecretTheyWereCheckedWith()
    {
        var at = Clock.GetUtcNow();
        await Store.UpsertAdminUserAsync(new AdminUser("two@example.com", "hash-1", AdminRole.Admin, at), "admin-api");
        Assert.False(await Store.SetAdminUserTwoStepAsync("two@example.com", "hash-stale", "secret-1", ["r1", "r2"], "console:two@example.com"));
        Assert.False((await Store.GetAdminUserAsync("two@example.com"))!.TwoStep);
        Assert.False(await Store.SetAdminUserTwoStepAsync("nobody@example.com", null, "secret-1", ["r1"], "admin-api"));
        Assert.True(await Store.SetAdminUserTwoStepAsync("two@example.com", "hash-1", "secret-1", ["r1", "r2"], "console:two@example.com"));
        var user = (await Store.GetAdminUserAsync("two@example.com"))!;
        Assert.Equal(("secret-1", 0L, "r1 r2"), (user.TotpSecret, user.TotpStep, string.Join(' ', user.RecoveryCodes!)));

        Assert.True(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", 1000, null));
        Assert.False(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", 1000, null)); // the same code again
        Assert.False(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", 999, null)); // an older one
        Assert.False(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-old", 1001, null)); // checked against another secret
        Assert.True(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", 1001, null));
        var both = await Task.WhenAll(Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", 1002, null), Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", 1002, null));
        Assert.Single(both, taken => taken);

        Assert.True(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", null, "r2"));
        Assert.False(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", null, "r2"));
        Assert.False(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", null, "r9"));
        Assert.False(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-old", null, "r1"));
        user = (await Store.GetAdminUserAsync("two@example.com"))!;
        Assert.Equal((1002L, "r1"), (user.TotpStep, string.Join(' ', user.RecoveryCodes!)));

        // Replacing the user (a new password from the admin API) keeps it; the administrator's reset drops it all.
        await Store.UpsertAdminUserAsync(new AdminUser("two@example.com", "hash-2", AdminRole.Admin, at), "admin-api");
        Assert.Equal("secret-1", (await Store.GetAdminUserAsync("two@example.com"))!.TotpSecret);
        Assert.True(await Store.SetAdminUserTwoStepAsync("two@example.com", null, null, null, "admin-api"));
        user = (await Store.GetAdminUserAsync("two@example.com"))!;
        Assert.Equal((false, 0L, null), (user.TwoStep, user.TotpStep, user.RecoveryCodes));
        Assert.False(await Store.TakeAdminUserCodeAsync("two@example.com", "secret-1", 2000, null));

        var log = (await Store.ListConsumerChangesAsync(null, 100)).Where(c => c.Name == "two@example.com").ToList();
        Assert.Contains(log, c => c.Action == "recovery-code" && c.Actor == "console:two@example.com" && c.After!.Contains("\"recoveryCodesLeft\":1", StringComparison.Ordinal));
        Assert.Contains(log, c => c.Actor == "admin-api" && c.Before!.Contains("\"twoStep\":true", StringComparison.Ordinal) && !c.After!.Contains("twoStep", StringComparison.Ordinal));
        Assert.DoesNotContain(log, c => (c.Before + c.After).Contains("secret-", StringComparison.Ordinal) || (c.Before + c.After).Contains("\"r1", StringComparison.Ordinal));
    }

    /// <summary>
    /// A portal account's two-step sign-in in the store: set only over the version checked, with a new stamp (its
    /// sessions end); codes taken as the console's are; gone with the account; logged without a secret or a code.
    /// </summary>
    [Fact]
    [Trait("Issue", "18")]
    public async Task APortalAccountsTwoStep_IsSetOverTheVersionChecked_WithANewStamp_AndGoesWithTheAccount()
    {
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-2s", "two@example.com"), "portal:two@example.com"));
        var account = (await Store.GetAccountAsync("acc-2s"))!;
        Assert.Null(await Store.GetAccountTwoStepAsync("acc-2s"));
        Assert.False(await Store.SetAccountTwoStepAsync("acc-2s", account.Version + 1, "secret-1", ["r1", "r2"], "stamp-x", "portal:two@example.com", "two-step-on"));
        Assert.False(await Store.SetAccountTwoStepAsync("acc-none", null, "secret-1", ["r1"], "stamp-x", "admin-api", "two-step-on"));
        Assert.True(await Store.SetAccountTwoStepAsync("acc-2s", account.Version, "secret-1", ["r1", "r2"], "stamp-2", "portal:two@example.com", "two-step-on"));
        var changed = (await Store.GetAccountAsync("acc-2s"))!;
        Assert.Equal(("stamp-2", account.Version + 1), (changed.Stamp, changed.Version));
        var twoStep = (await Store.GetAccountTwoStepAsync("acc-2s"))!;
        Assert.Equal(("secret-1", 0L, "r1 r2"), (twoStep.TotpSecret, twoStep.TotpStep, string.Join(' ', twoStep.RecoveryCodes)));
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-plain", "plain@example.com"), "portal:plain@example.com"));
        Assert.Equal(["acc-2s"], await Store.AccountsWithTwoStepAsync(["acc-plain", "acc-2s", "acc-none"]));
        Assert.Empty(await Store.AccountsWithTwoStepAsync([]));

        Assert.True(await Store.TakeAccountCodeAsync("acc-2s", "secret-1", 50, null, "portal:two@example.com"));
        Assert.False(await Store.TakeAccountCodeAsync("acc-2s", "secret-1", 50, null, "portal:two@example.com"));
        Assert.False(await Store.TakeAccountCodeAsync("acc-2s", "secret-old", 51, null, "portal:two@example.com"));
        Assert.True(await Store.TakeAccountCodeAsync("acc-2s", "secret-1", null, "r1", "portal:two@example.com"));
        Assert.False(await Store.TakeAccountCodeAsync("acc-2s", "secret-1", null, "r1", "portal:two@example.com"));
        Assert.Equal((50L, "r2"), ((await Store.GetAccountTwoStepAsync("acc-2s"))!.TotpStep, string.Join(' ', (await Store.GetAccountTwoStepAsync("acc-2s"))!.RecoveryCodes)));

        // Off on the administrator's word (any version), then on again, then the account deleted.
        Assert.True(await Store.SetAccountTwoStepAsync("acc-2s", null, null, null, "stamp-3", "admin-api", "two-step-off"));
        Assert.Null(await Store.GetAccountTwoStepAsync("acc-2s"));
        Assert.False(await Store.TakeAccountCodeAsync("acc-2s", "secret-1", 60, null, "portal:two@example.com"));
        Assert.True(await Store.SetAccountTwoStepAsync("acc-2s", null, "secret-2", ["r3"], "stamp-4", "portal:two@example.com", "two-step-on"));
        var log = (await Store.ListConsumerChangesAsync(null, 100)).Where(c => c.Name == "acc-2s").ToList();
        Assert.Equal(["two-step-on", "recovery-code", "two-step-off", "two-step-on"], log.Where(c => c.Action != "create").Select(c => c.Action).Reverse());
        Assert.DoesNotContain(log, c => (c.Before + c.After).Contains("secret-", StringComparison.Ordinal) || Regex.IsMatch(c.Before + c.After, "\"r[0-9]"));
        Assert.True(await Store.DeleteAccountAsync("acc-2s", "admin-api"));
        Assert.Null(await Store.GetAccountTwoStepAsync("acc-2s"));
    }

    [Fact]
    [Trait("Issue", "18")]
    public async Task StaleUnverifiedAccounts_AreOldUnconfirmedOnesWithoutAWorkingLink_AndOnlyThoseAreDeletedAsSuch()
    {
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-old", "old@example.com", AccountState.Unverified), "portal:old@example.com"));
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-linked", "linked@example.com", AccountState.Unverified), "portal:linked@example.com"));
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-active", "active@example.com"), "portal:active@example.com"));
        Clock.Advance(TimeSpan.FromDays(8));
        await Store.SaveTokenAsync(new string('b', 64), "verify-email", "acc-linked", Clock.GetUtcNow() + TimeSpan.FromHours(1));
        Assert.True(await Store.InsertAccountAsync(NewAccount("acc-new", "new@example.com", AccountState.Unverified), "portal:new@example.com"));

        var stale = await Store.ListStaleUnverifiedAsync(Clock.GetUtcNow() - TimeSpan.FromDays(7), Clock.GetUtcNow(), 10);

        Assert.Equal(["acc-old"], stale);
        Assert.False(await Store.DeleteAccountAsync("acc-active", "portal:expired", onlyIf: AccountState.Unverified));
        Assert.True(await Store.DeleteAccountAsync("acc-old", "portal:expired", onlyIf: AccountState.Unverified));
        Assert.NotNull(await Store.GetAccountAsync("acc-active"));
        Clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(["acc-linked"], await Store.ListStaleUnverifiedAsync(Clock.GetUtcNow() - TimeSpan.FromDays(7), Clock.GetUtcNow(), 10));
    }
}
