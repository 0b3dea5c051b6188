using System.Collections.Concurrent;

namespace Gatehouse.Client;

/// <summary>
/// Sums calls served from the cache, and the outcomes of calls (what the service answered and how long it took), and
/// sends them to <c>/api/report</c> in batches (every <see cref="GatehouseAuthorizationOptions.ReportInterval"/>, and
/// before each round-trip to the gateway). A batch that fails is kept and sent with the next one, so an outage delays
/// counting rather than losing it. Durations are summed in log-spaced buckets, eight to a doubling (each reported as its
/// middle, within 4.5% of every duration in it), so a busy service sends a few entries a second, not one per request.
/// </summary>
internal sealed class UsageReporter : IAsyncDisposable
{
    private const int MaxBatch = 1000;

    /// <summary>The longest duration the gateway takes (a day, its <c>MaxDurationMs</c>).</summary>
    private const double MaxDurationMs = 86_400_000;

    private readonly ServiceApiClient _api;
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private ConcurrentDictionary<Key, int> _pending = new();

    public UsageReporter(ServiceApiClient api, TimeSpan interval, TimeProvider time)
    {
        _api = api;
        _loop = LoopAsync(interval, time);
    }

    /// <summary>
    /// What one entry sums: the call's credential, operation and client; its status (0: not known) and duration bucket
    /// (-1: not timed); and whether an authrep counted it already (then the entry is its outcome, for analytics only).
    /// </summary>
    private readonly record struct Key(string? ApiKey, string? Bearer, string Operation, string? Client, int Status, int Bucket, bool Counted);

    /// <summary>Most entries held before new outcomes are dropped (a few seconds of a busy service's distinct ones).</summary>
    internal const int MaxOutcomeEntries = 10_000;

    private static readonly System.Diagnostics.Metrics.Meter Meter = new("Gatehouse.Client");

    /// <summary>Outcomes not reported because too many were waiting (the gateway not taking reports).</summary>
    private static readonly System.Diagnostics.Metrics.Counter<long> Dropped = Meter.CreateCounter<long>("gatehouse.client.outcomes.dropped", "{call}",
        "Calls whose outcome (status and duration) was not reported to the gateway because too many were waiting");

    // Keys in the pending batch (approximate: reset when the batch is taken).
    private int _entries;

    // Entries that count against limits when they arrive (calls served from the cache), not yet sent: the middleware sends
    // them before its next authrep so that the decision sees them. Outcomes of counted calls wait for the interval.
    // Reset before the batch is taken, so it may be above what is pending (one report too many), never below.
    private int _uncounted;

    public bool HasPending => !_pending.IsEmpty;

    /// <summary>Calls served from the cache are waiting: their report goes before the next authrep.</summary>
    public bool HasUncounted => Volatile.Read(ref _uncounted) > 0;

    /// <summary>A call served from the cache, its outcome not reported: counted at the gateway when the batch arrives.</summary>
    public void Add(CredentialBody credential, string operation, string? client) =>
        Add(new Key(credential.ApiKey, credential.Bearer, operation, client, 0, -1, false), 1);

    /// <summary>
    /// A call's outcome: <paramref name="counted"/> when its authrep counted it (analytics only), otherwise a call served
    /// from the cache (counted when the batch arrives, and recorded with its status and duration).
    /// </summary>
    public void AddOutcome(CredentialBody credential, string operation, string? client, int status, double durationMs, bool counted) =>
        Add(new Key(credential.ApiKey, credential.Bearer, operation, client, status, BucketOf(durationMs), counted), 1);

    private void Add(Key key, int hits, bool kept = false)
    {
        if (!kept && key.Counted && Volatile.Read(ref _entries) >= MaxOutcomeEntries && !_pending.ContainsKey(key))
        {
            // Outcomes are for analytics only: while the gateway cannot take reports, new ones are dropped and counted
            // rather than held without bound. Calls served from the cache count against limits, and are always kept.
            Dropped.Add(hits);
            return;
        }

        if (_pending.TryAdd(key, hits))
        {
            Interlocked.Increment(ref _entries);
        }
        else
        {
            _pending.AddOrUpdate(key, hits, (_, n) => n + hits);
        }

        if (!key.Counted)
        {
            Interlocked.Increment(ref _uncounted);
        }
    }

    /// <summary>The bucket of a duration: eight to a doubling of microseconds; 0 holds everything up to 1 µs.</summary>
    internal static int BucketOf(double durationMs)
    {
        var micros = Math.Min(durationMs, MaxDurationMs) * 1000;
        return micros <= 1 || !double.IsFinite(micros) ? 0 : (int)Math.Floor(Math.Log2(micros) * 8);
    }

    /// <summary>The duration a bucket is reported as: its middle on the log scale, in milliseconds.</summary>
    internal static double DurationOf(int bucket) => Math.Min(Math.Pow(2, (bucket + 0.5) / 8) / 1000, MaxDurationMs);

    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Volatile.Write(ref _uncounted, 0);
            var batch = Interlocked.Exchange(ref _pending, new()).ToList();
            Volatile.Write(ref _entries, 0);
            for (var i = 0; i < batch.Count; i += MaxBatch)
            {
                var chunk = batch.GetRange(i, Math.Min(MaxBatch, batch.Count - i));
                try
                {
                    await _api.ReportAsync(new ReportBody([.. chunk.Select(e => Entry(e.Key, e.Value))]), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // Kept for the next report, past the bound: they were taken once already.
                    foreach (var (key, hits) in batch.Skip(i))
                    {
                        Add(key, hits, kept: true);
                    }

                    return;
                }
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    private static UsageEntry Entry(Key key, int hits) => new(
        new CredentialBody(key.ApiKey, key.Bearer), key.Operation, key.Client, hits,
        key.Status == 0 ? null : key.Status,
        key.Bucket < 0 ? null : DurationOf(key.Bucket),
        key.Counted ? true : null);

    private async Task LoopAsync(TimeSpan interval, TimeProvider time)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (HasPending)
                {
                    await FlushAsync(_stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await FlushAsync().ConfigureAwait(false);
        _stop.Dispose();
        _flushing.Dispose();
    }
}
