using System.Diagnostics;
using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Tests.Consumers;

/// <summary>
/// Issue #18, item 3: two nodes share one store; an application or key made on one is served by both without a config
/// revision and without recompiling either gateway's snapshot, on SQLite and on PostgreSQL.
/// </summary>
[Trait("Issue", "18")]
public abstract class ConsumerNodesTests
{
    protected abstract Task<string> StoreAsync();

    [Fact]
    public async Task SignUpAndCreate_OnNodeA_KeyWorksOnAAtOnce_AndOnB_WithoutARevisionOrRecompile()
    {
        await using var backend = await ConsumerNode.StartBackendAsync();
        var connection = await StoreAsync();
        await using var a = await ConsumerNode.StartAsync(connection, backend.Urls.First());
        await using var b = await ConsumerNode.StartAsync(connection, backend.Urls.First());
        var snapshotA = a.Gateway.Runtime.Current;
        var snapshotB = b.Gateway.Runtime.Current;

        Assert.Null(await a.Service.SignUpAsync("ada@example.com", "Ada", "correct staple horse battery", CancellationToken.None));
        var (account, _, _) = await a.Service.LogInAsync("ada@example.com", "correct staple horse battery", "127.0.0.1", CancellationToken.None);
        var (application, key, problem) = await a.Service.CreateApplicationAsync(account!, "Shop", "", "retail", "portal:ada", CancellationToken.None);
        Assert.Null(problem);

        // The node that made it serves the key when the call returns; the other within its poll interval.
        Assert.Equal(HttpStatusCode.OK, await a.CallAsync("GET", key!));
        var clock = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => await b.CallAsync("GET", key!) == HttpStatusCode.OK, "node B to serve the new key");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");

        Assert.Equal(HttpStatusCode.Forbidden, await b.CallAsync("PUT", key!));
        Assert.Equal(0, await a.Store.CurrentRevisionAsync());
        Assert.Same(snapshotA, a.Gateway.Runtime.Current);
        Assert.Same(snapshotB, b.Gateway.Runtime.Current);
        Assert.Equal(application!.Id, (await b.Store.GetApplicationAsync(application.Id))!.Id);
    }

    [Fact]
    public async Task ApprovalRotationRevocationAndDeletion_OnOneNode_AreFollowedByTheOther()
    {
        await using var backend = await ConsumerNode.StartBackendAsync();
        var connection = await StoreAsync();
        await using var a = await ConsumerNode.StartAsync(connection, backend.Urls.First());
        await using var b = await ConsumerNode.StartAsync(connection, backend.Urls.First());
        await a.Service.SignUpAsync("bob@example.com", "Bob", "a long and unusual passphrase", CancellationToken.None);
        var (account, _, _) = await a.Service.LogInAsync("bob@example.com", "a long and unusual passphrase", "127.0.0.1", CancellationToken.None);
        var (application, key, _) = await a.Service.CreateApplicationAsync(account!, "Wholesale app", "", "wholesale", "portal:bob", CancellationToken.None);
        Assert.Equal(ApplicationState.Pending, application!.State);

        // The node that made the change answers accordingly at once; the other follows.
        async Task Both(string method, string plaintext, HttpStatusCode expected, string what, bool madeOnB = false)
        {
            var (made, other) = madeOnB ? (b, a) : (a, b);
            Assert.Equal(expected, await made.CallAsync(method, plaintext));
            await Wait.UntilAsync(async () => await other.CallAsync(method, plaintext) == expected, what);
        }

        await Both("PUT", key!, HttpStatusCode.Forbidden, "pending on B");
        Assert.Null(await b.Service.DecideApplicationAsync(application.Id, "approve", "console:root", CancellationToken.None));
        Assert.Equal(HttpStatusCode.OK, await b.CallAsync("PUT", key!));
        await Wait.UntilAsync(async () => await a.CallAsync("PUT", key!) == HttpStatusCode.OK, "approval on A");

        var prefix = (await a.Store.GetApplicationAsync(application.Id))!.Keys.Single().Prefix;
        var (_, rotated, rotateProblem) = await a.Service.RotateKeyAsync(account!.Id, application.Id, prefix, TimeSpan.Zero, "portal:bob", CancellationToken.None);
        Assert.Null(rotateProblem);
        await Both("GET", key!, HttpStatusCode.Unauthorized, "old key refused on B");
        await Both("GET", rotated!, HttpStatusCode.OK, "new key served on B");

        var newPrefix = (await a.Store.GetApplicationAsync(application.Id))!.Keys.Single().Prefix;
        Assert.Null(await a.Service.RevokeKeyAsync(account.Id, application.Id, newPrefix, "portal:bob", CancellationToken.None));
        await Both("GET", rotated!, HttpStatusCode.Unauthorized, "revoked key refused on B");

        var (_, third, _) = await a.Service.CreateApplicationAsync(account, "Second", "", "retail", "portal:bob", CancellationToken.None);
        await Both("GET", third!, HttpStatusCode.OK, "second application on B");
        var second = (await a.Store.ListApplicationsAsync(account.Id, null, null, 10)).Single(x => x.Title == "Second");
        Assert.Null(await a.Service.DeleteApplicationAsync(account.Id, second.Id, "portal:bob", CancellationToken.None));
        await Both("GET", third!, HttpStatusCode.Unauthorized, "deleted application on B");

        // Suspending the account stops its applications everywhere; resuming brings them back.
        var (_, fourth, _) = await a.Service.CreateApplicationAsync(account, "Third", "", "retail", "portal:bob", CancellationToken.None);
        Assert.Null(await b.Service.DecideAccountAsync(account.Id, "suspend", "console:root", CancellationToken.None));
        await Both("GET", fourth!, HttpStatusCode.Forbidden, "suspended account on A", madeOnB: true);
        Assert.Null(await a.Service.DecideAccountAsync(account.Id, "resume", "console:root", CancellationToken.None));
        await Both("GET", fourth!, HttpStatusCode.OK, "resumed account on B");
    }

    [Fact]
    public async Task NodeStartingLater_ReadsEveryApplication_FromTheStore()
    {
        await using var backend = await ConsumerNode.StartBackendAsync();
        var connection = await StoreAsync();
        string? key;
        await using (var first = await ConsumerNode.StartAsync(connection, backend.Urls.First()))
        {
            await first.Service.SignUpAsync("cy@example.com", "Cy", "yet another good passphrase", CancellationToken.None);
            var (account, _, _) = await first.Service.LogInAsync("cy@example.com", "yet another good passphrase", "127.0.0.1", CancellationToken.None);
            (_, key, _) = await first.Service.CreateApplicationAsync(account!, "App", "", "retail", "portal:cy", CancellationToken.None);
        }

        await using var later = await ConsumerNode.StartAsync(connection, backend.Urls.First());
        Assert.Equal(HttpStatusCode.OK, await later.CallAsync("GET", key!));
    }

    /// <summary>
    /// The OAuth clients the portal registered: kept before their client id is bound, and "unbound" (the provider's to
    /// delete) only once their application does not hold the client id and they are older than asked.
    /// </summary>
    [Fact]
    public async Task RegisteredOAuthClients_AreUnboundOnlyWhenTheirApplicationLetsTheClientIdGo()
    {
        await using var backend = await ConsumerNode.StartBackendAsync();
        await using var node = await ConsumerNode.StartAsync(await StoreAsync(), backend.Urls.First());
        await node.Service.SignUpAsync("oa@example.com", "Oa", "a passphrase for the clients", CancellationToken.None);
        var (account, _, _) = await node.Service.LogInAsync("oa@example.com", "a passphrase for the clients", "127.0.0.1", CancellationToken.None);
        var (app, _, _) = await node.Service.CreateApplicationAsync(account!, "App", "", "retail", "portal:oa", CancellationToken.None);
        var made = DateTimeOffset.UtcNow.AddMinutes(-10);
        await node.Store.AddOAuthClientAsync(new("c-bound", app!.Id, "https://idp.example.com", "https://idp.example.com/reg/c-bound", "protected", made));
        await node.Store.AddOAuthClientAsync(new("c-loose", app.Id, "https://idp.example.com", null, null, made.AddMinutes(5)));
        Assert.Null((await node.Service.AddClientIdAsync(account!.Id, app.Id, "c-bound", "portal:oa", CancellationToken.None)).Problem);

        Assert.Equal(["c-bound", "c-loose"], (await node.Store.ListOAuthClientsAsync(app.Id)).Select(r => r.ClientId));
        var loose = Assert.Single(await node.Store.ListUnboundOAuthClientsAsync(DateTimeOffset.UtcNow, 10));
        Assert.Equal(("c-loose", (string?)null, made.AddMinutes(5).ToUnixTimeSeconds()), (loose.ClientId, loose.ManagementUri, loose.CreatedAt.ToUnixTimeSeconds()));
        Assert.Empty(await node.Store.ListUnboundOAuthClientsAsync(made.AddMinutes(5), 10));

        // Another account's application cannot take it; its own removal unbinds it.
        Assert.Equal(404, (await node.Service.RemoveClientIdAsync("acc-someone-else", app.Id, "c-bound", "portal:x", CancellationToken.None)).Problem!.Status);
        Assert.Null((await node.Service.RemoveClientIdAsync(account.Id, app.Id, "c-bound", "portal:oa", CancellationToken.None)).Problem);
        Assert.Equal(["c-bound", "c-loose"], (await node.Store.ListUnboundOAuthClientsAsync(DateTimeOffset.UtcNow, 10)).Select(r => r.ClientId));
        Assert.Equal("https://idp.example.com/reg/c-bound", (await node.Store.ListUnboundOAuthClientsAsync(DateTimeOffset.UtcNow, 1))[0].ManagementUri);
        await node.Store.DeleteOAuthClientAsync("c-bound");
        Assert.Equal(["c-loose"], (await node.Store.ListOAuthClientsAsync(app.Id)).Select(r => r.ClientId));
    }
}

[Trait("Issue", "18")]
public sealed class SqliteConsumerNodesTests : ConsumerNodesTests, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-consumers-").FullName;

    protected override Task<string> StoreAsync() => Task.FromResult("sqlite:" + Path.Combine(_folder, "gatehouse.db"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}

[Collection(PostgresCollection.Name)]
[Trait("Issue", "18")]
public sealed class PostgresConsumerNodesTests(PostgresCluster cluster) : ConsumerNodesTests
{
    protected override Task<string> StoreAsync() => cluster.CreateDatabaseAsync();

    /// <summary>
    /// On PostgreSQL a consumer change is notified at its commit: with polling an hour apart, node B serves a key made on
    /// node A within seconds, and a revocation on A stops it on B as fast.
    /// </summary>
    [Fact]
    public async Task AChangeOnNodeA_ReachesNodeB_ByNotification_NotByItsPoll()
    {
        await using var backend = await ConsumerNode.StartBackendAsync();
        var connection = await StoreAsync();
        await using var a = await ConsumerNode.StartAsync(connection, backend.Urls.First(), TimeSpan.FromHours(1));
        await using var b = await ConsumerNode.StartAsync(connection, backend.Urls.First(), TimeSpan.FromHours(1));
        Assert.Equal(TimeSpan.FromHours(1), b.Follower.Interval);
        // The listening connection is made in the background at start: a change before it is up would wait for the poll.
        await Wait.UntilAsync(async () =>
        {
            await using var check = new Npgsql.NpgsqlConnection(connection);
            await check.OpenAsync();
            await using var listeners = new Npgsql.NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gatehouse-listen' AND datname = current_database()", check);
            return (long)(await listeners.ExecuteScalarAsync())! >= 2;
        }, "both nodes' listening connections");

        Assert.Null(await a.Service.SignUpAsync("cy@example.com", "Cy", "an uncommon long passphrase", CancellationToken.None));
        var (account, _, _) = await a.Service.LogInAsync("cy@example.com", "an uncommon long passphrase", "127.0.0.1", CancellationToken.None);
        var (_, key, problem) = await a.Service.CreateApplicationAsync(account!, "Shop", "", "retail", "portal:cy", CancellationToken.None);
        Assert.Null(problem);
        var clock = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => await b.CallAsync("GET", key!) == HttpStatusCode.OK, "node B to serve the new key");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }
}
