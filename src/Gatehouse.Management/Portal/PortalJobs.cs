using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Portal;

/// <summary>
/// Work a form starts but must not do on its request: what differs between a known and an unknown address (finding the
/// account, storing a token, queueing its mail). The page answers as soon as the job is queued, so it takes as long
/// whatever the address, and a slow store slows no answer. One background loop runs the jobs in order; a full queue
/// (1,000) drops the job, logged, and the page answers as always.
/// </summary>
internal sealed partial class PortalJobs : IAsyncDisposable
{
    private readonly Channel<Func<CancellationToken, Task>> _queue = Channel.CreateBounded<Func<CancellationToken, Task>>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _logger;
    private readonly Task _loop;

    public PortalJobs(ILogger logger)
    {
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Queues <paramref name="job"/>; never waits.</summary>
    public void Enqueue(Func<CancellationToken, Task> job)
    {
        if (!_queue.Writer.TryWrite(job))
        {
            LogDropped(_logger);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var job in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await job(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !_stop.IsCancellationRequested)
                {
                    LogFailed(_logger, e.GetType().Name, e.Message.ReplaceLineEndings(" "));
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        // What is queued is done first, for a few seconds at most.
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != _loop)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The portal's background queue is full; a sign-up or reset was not carried out (the page answered as usual).")]
    private static partial void LogDropped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "A portal sign-up or reset failed in the background ({Type}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string type, string reason);
}
