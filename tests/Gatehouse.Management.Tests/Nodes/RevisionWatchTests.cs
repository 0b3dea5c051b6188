using Gatehouse.Management.Nodes;
using Gatehouse.Management.Stores;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Management.Tests.Nodes;

/// <summary>The node API's watch of the store's newest revision, on a real SQLite store.</summary>
public sealed class RevisionWatchTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "gatehouse-watch-" + Guid.NewGuid().ToString("N")[..10]);
    private IConfigStore _store = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _store = await ConfigStores.OpenAsync("sqlite:" + Path.Combine(_directory, "gatehouse.db"), TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>
    /// Admin requests record store failures but never successes: a control plane whose store failed a few times during a
    /// restart kept a 30 s back-off, and its watch then sat that long after one failed read while hybrid nodes long-polled
    /// (a CI run: a route made after a control-plane restart had not reached a node 30 s later). A read that works ends it.
    /// </summary>
    [Fact]
    public async Task AReadThatWorks_EndsAnOutageOthersRecorded()
    {
        var health = new StoreHealth(NullLogger.Instance);
        for (var i = 0; i < 5; i++)
        {
            health.Failed(new TimeoutException("the store did not answer"));
        }

        Assert.Equal(StoreHealth.MaxBackOff, health.BackOff);
        await using var watch = new RevisionWatch(_store, health, TimeSpan.FromMilliseconds(50));
        watch.Start();
        var newest = await watch.WaitNewerAsync(-1, TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.True(newest >= 0, $"the watch never read the store (newest {newest})");
        // The loop records the success once the look returns, just after the look has published the revision the wait
        // above returns on; asked at once, the health could still be down (a fresh-clone CI run saw it). Without the
        // success recorded at all, this wait fails.
        await Gatehouse.Gateway.Tests.Infrastructure.Wait.UntilAsync(() => !health.IsDown && health.BackOff == TimeSpan.Zero, "the store's health to be up after a read that worked");
    }
}
