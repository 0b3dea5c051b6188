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
