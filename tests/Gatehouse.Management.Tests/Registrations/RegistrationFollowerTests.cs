using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Registrations;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Registrations;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Management.Tests.Registrations;

/// <summary>The follower between the store's registrations table and a gateway (issue #5), on a real SQLite store.</summary>
public sealed class RegistrationFollowerTests : IAsyncLifetime
{
    private readonly FakeTime _time = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "gatehouse-follow-" + Guid.NewGuid().ToString("N")[..10]);
    private IConfigStore _store = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _store = await ConfigStores.OpenAsync("sqlite:" + Path.Combine(_directory, "gatehouse.db"), _time);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Round_HandsOverTheLiveRegistrationsByService_AndDeletesExpiredRows()
    {
        var now = _time.GetUtcNow();
        await _store.UpsertRegistrationAsync("users", "http://10.0.0.1:80", "service-token", now.AddSeconds(30));
        await _store.UpsertRegistrationAsync("users", "http://10.0.0.2:80", "service-token", now.AddSeconds(-1));
        await _store.UpsertRegistrationAsync("orders", "http://10.0.0.3:80", "admin", now.AddSeconds(60));
        IReadOnlyDictionary<string, IReadOnlyList<RegisteredTarget>>? handed = null;
        await using var follower = new RegistrationFollower(_store, live => Volatile.Write(ref handed, live), TimeSpan.FromMinutes(10), _time);

        follower.Start();
        await follower.RefreshAsync().WaitAsync(Wait.DefaultTimeout);

        Assert.NotNull(handed);
        Assert.Equal([new RegisteredTarget(new Uri("http://10.0.0.1:80"), now.AddSeconds(30))], handed["users"]);
        Assert.Equal([new RegisteredTarget(new Uri("http://10.0.0.3:80"), now.AddSeconds(60))], handed["orders"]);
        // The expired row is gone from the table itself, not only filtered out.
        Assert.Equal(2, (await _store.ListRegistrationsAsync(now.AddHours(-1))).Count);
    }

    [Fact]
    public async Task RoutesUntil_SaysWhatTheLastRoundHandedOver_AndUntilWhen()
    {
        var now = _time.GetUtcNow();
        await _store.UpsertRegistrationAsync("users", "http://10.0.0.1:80", "service-token", now.AddSeconds(30));
        await using var follower = new RegistrationFollower(_store, _ => { }, TimeSpan.FromMinutes(10), _time);
        Assert.False(follower.RoutesUntil("users", "http://10.0.0.1:80", now)); // no round yet
        follower.Start();
        await follower.RefreshAsync().WaitAsync(Wait.DefaultTimeout);

        Assert.True(follower.RoutesUntil("users", "http://10.0.0.1:80", now.AddSeconds(30)));
        Assert.False(follower.RoutesUntil("users", "http://10.0.0.1:80", now.AddSeconds(31)));
        Assert.False(follower.RoutesUntil("orders", "http://10.0.0.1:80", now));
        Assert.False(follower.RoutesUntil("users", "http://10.0.0.2:80", now));
    }

    /// <summary>
    /// Heartbeats are written together: rows that arrive while a transaction is being committed go in the next one, so a
    /// hundred at once take a few commits, not a hundred; each is answered once its own transaction is committed.
    /// </summary>
    [Fact]
    public async Task Writes_ArrivingTogether_AreCommittedInAFewTransactions_EachAnsweredAfterItsOwn()
    {
        var writes = new RegistrationWrites(_store);
        var expires = _time.GetUtcNow().AddSeconds(30);
        var pending = Enumerable.Range(1, 100).Select(i => writes.WriteAsync(new Registration("users", $"http://10.0.1.{i}:80", "service-token", expires))).ToList();
        await Task.WhenAll(pending).WaitAsync(Wait.DefaultTimeout);

        var rows = await _store.ListRegistrationsAsync(_time.GetUtcNow());
        Assert.Equal(100, rows.Count(r => r.Service == "users" && r.ExpiresAt == expires));
        Assert.InRange(writes.Batches, 1, 3);

        // Renewals of rows already there, and a new one, after the writer went idle: written too.
        await writes.WriteAsync(new Registration("users", "http://10.0.1.1:80", "admin", expires.AddSeconds(30))).WaitAsync(Wait.DefaultTimeout);
        Assert.Contains(await _store.ListRegistrationsAsync(_time.GetUtcNow()), r => r.Url == "http://10.0.1.1:80" && r.Owner == "admin" && r.ExpiresAt == expires.AddSeconds(30));
    }

    /// <summary>A transaction of rows is all or none; a failed one fails the writes in it, and the writer goes on.</summary>
    [Fact]
    public async Task ABatchThatFails_WritesNothing_FailsItsWrites_AndTheNextIsWritten()
    {
        var expires = _time.GetUtcNow().AddSeconds(30);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => _store.UpsertRegistrationsAsync(
            [new Registration("users", "http://10.0.2.1:80", "admin", expires), new Registration("", "http://10.0.2.2:80", "admin", expires)]));
        Assert.Empty(await _store.ListRegistrationsAsync(_time.GetUtcNow()));

        var writes = new RegistrationWrites(_store);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => writes.WriteAsync(new Registration("users", "", "admin", expires)).WaitAsync(Wait.DefaultTimeout));
        await writes.WriteAsync(new Registration("users", "http://10.0.2.3:80", "admin", expires)).WaitAsync(Wait.DefaultTimeout);
        Assert.Equal(["http://10.0.2.3:80"], (await _store.ListRegistrationsAsync(_time.GetUtcNow())).Select(r => r.Url));
    }

    [Fact]
    public async Task RefreshAsync_AfterAWrite_CompletesOnlyOnceARoundHasSeenIt()
    {
        var rounds = new List<int>();
        await using var follower = new RegistrationFollower(_store, live =>
        {
            lock (rounds)
            {
                rounds.Add(live.TryGetValue("users", out var users) ? users.Count : 0);
            }
        }, TimeSpan.FromMinutes(10), _time);
        follower.Start();
        await follower.RefreshAsync().WaitAsync(Wait.DefaultTimeout);

        await _store.UpsertRegistrationAsync("users", "http://10.0.0.1:80", "admin", _time.GetUtcNow().AddSeconds(30));
        await follower.RefreshAsync().WaitAsync(Wait.DefaultTimeout);

        lock (rounds)
        {
            Assert.Equal(1, rounds[^1]);
        }
    }
}
