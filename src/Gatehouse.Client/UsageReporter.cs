using System.Collections.Concurrent;

namespace Gatehouse.Client;

/// <summary>
/// Sums calls served from the cache and sends them to <c>/api/report</c> in batches (every
/// <see cref="GatehouseAuthorizationOptions.ReportInterval"/>, and before each round-trip to the gateway).
/// A batch that fails is kept and sent with the next one, so an outage delays counting rather than losing it.
/// </summary>
internal sealed class UsageReporter : IAsyncDisposable
{
    private const int MaxBatch = 1000;
    private readonly ServiceApiClient _api;
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private ConcurrentDictionary<(string? ApiKey, string? Bearer, string Operation, string? Client), int> _pending = new();

    public UsageReporter(ServiceApiClient api, TimeSpan interval, TimeProvider time)
    {
        _api = api;
        _loop = LoopAsync(interval, time);
    }

    public bool HasPending => !_pending.IsEmpty;

    public void Add(CredentialBody credential, string operation, string? client) =>
        _pending.AddOrUpdate((credential.ApiKey, credential.Bearer, operation, client), 1, (_, n) => n + 1);

    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = Interlocked.Exchange(ref _pending, new());
            var entries = batch.Select(e => new UsageEntry(new CredentialBody(e.Key.ApiKey, e.Key.Bearer), e.Key.Operation, e.Key.Client, e.Value)).ToList();
            for (var i = 0; i < entries.Count; i += MaxBatch)
            {
                var chunk = entries.GetRange(i, Math.Min(MaxBatch, entries.Count - i));
                try
                {
                    await _api.ReportAsync(new ReportBody(chunk), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    foreach (var entry in entries.Skip(i))
                    {
                        _pending.AddOrUpdate((entry.Credential.ApiKey, entry.Credential.Bearer, entry.Operation, entry.Client), entry.Hits, (_, n) => n + entry.Hits);
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
