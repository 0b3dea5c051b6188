using System.Globalization;
using Npgsql;

namespace Gatehouse.Management.Stores;

/// <summary>
/// One dedicated PostgreSQL connection per process that <c>LISTEN</c>s on <see cref="Channel"/>, where every config
/// commit sends its revision number (<c>pg_notify</c> inside the commit's transaction, so it is delivered only when
/// the revision is visible). The connection is outside the pool, with Npgsql's keepalive query and TCP keepalive, so a
/// dead peer (a failed-over server, a dropped NAT entry) is found within seconds rather than at the next commit; then
/// it reconnects with the store's back-off and reports "connected" so the follower reads what it missed. The same
/// listens on <see cref="ConsumerChannel"/> for consumer changes (portal accounts, applications and keys), and on
/// <see cref="CachePurgeChannel"/> for the nodes' cache purges.
/// </summary>
internal sealed class PostgresRevisionListener(string connectionString, string channel = PostgresRevisionListener.Channel)
{
    /// <summary>The notification channel: one per database, payload the committed revision's number.</summary>
    public const string Channel = "gatehouse_revisions";

    /// <summary>The channel of consumer changes: payload the change's sequence number.</summary>
    public const string ConsumerChannel = "gatehouse_consumers";

    /// <summary>The channel of the nodes' cache purges: payload the newest purge's sequence number.</summary>
    public const string CachePurgeChannel = "gatehouse_cache_purges";

    // Seconds of silence before Npgsql sends a keepalive query on the listening connection (WaitAsync wakes for it).
    private const int KeepAliveSeconds = 10;

    private readonly string _connectionString = new NpgsqlConnectionStringBuilder(connectionString)
    {
        Pooling = false,
        KeepAlive = KeepAliveSeconds,
        TcpKeepAlive = true,
        ApplicationName = "gatehouse-listen",
    }.ConnectionString;

    public async Task ListenAsync(Action<long> committed, StoreHealth health, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                connection.Notification += (_, e) =>
                {
                    if (long.TryParse(e.Payload, NumberStyles.None, CultureInfo.InvariantCulture, out var revision))
                    {
                        committed(revision);
                    }
                };
                await connection.OpenAsync(stop).ConfigureAwait(false);
                await using (var listen = new NpgsqlCommand($"LISTEN {channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                }

                // Anything committed before LISTEN took effect was not heard: the follower reads the current revision now.
                committed(0);
                while (true)
                {
                    await connection.WaitAsync(stop).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (StoreHealth.IsStoreFailure(e) || e is InvalidOperationException or IOException)
            {
                // Polling goes on meanwhile; this only delays how fast a change is heard.
                health.Failed(e);
                try
                {
                    await Task.Delay(health.BackOff > TimeSpan.Zero ? health.BackOff : TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
