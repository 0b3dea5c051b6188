using System.Net;
using System.Security.Cryptography;
using Gatehouse.Model.Nodes;
using Gatehouse.Model.Registrations;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// Self-registered targets on a hybrid data node: the node API's signed set of live registrations
/// (<c>GET /node/v1/registrations</c>), read every <see cref="Interval"/> (a store-backed node's registration follower
/// reads its store as often) and handed whole to the gateway. A set not signed by the pinned key, or older than the
/// one served, is refused. Not kept on disk: registrations live for seconds (their heartbeats go to the control plane),
/// and while the control plane is away the gateway drops each target at its expiry by its own clock, as a store-backed
/// node does when its store is away.
/// </summary>
internal sealed partial class RegistrationFeed(HttpClient http, Uri controlPlane, ECDsa pinned, Action<IReadOnlyDictionary<string, IReadOnlyList<RegisteredTarget>>> apply) : IAsyncDisposable
{
    /// <summary>How often the set is read.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stop = new();
    private DateTimeOffset _issuedAt = DateTimeOffset.MinValue;
    private Task _loop = Task.CompletedTask;

    public ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>The last set refused, for the node's report; null when none was.</summary>
    public SnapshotRefusal? Refused { get; private set; }

    public void Start() => _loop = Task.Run(LoopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            do
            {
                try
                {
                    using var response = await http.GetAsync(new Uri(controlPlane, "node/v1/registrations"), _stop.Token).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Consider(await response.Content.ReadAsByteArrayAsync(_stop.Token).ConfigureAwait(false));
                    }
                }
                catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !_stop.IsCancellationRequested))
                {
                    // The config loop logs the outage once; the gateway keeps each target until it expires.
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Consider(byte[] envelope)
    {
        var (set, refusal) = RegistrationSet.Verify(envelope, pinned);
        if (set is not null && set.IssuedAt < _issuedAt)
        {
            refusal = new SnapshotRefusal("rollback", $"a registration set issued at {set.IssuedAt:O}, older than the one served ({_issuedAt:O})");
        }

        if (set is null || refusal is not null)
        {
            Refused = refusal;
            NodeBatchMetrics.Refused(NodeBatchMetrics.Registrations, refusal!.Code);
            LogRefused(Logger, refusal.Code, refusal.Detail);
            return;
        }

        _issuedAt = set.IssuedAt;
        apply(set.Services);
        NodeBatchMetrics.Applied(NodeBatchMetrics.Registrations);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused registrations from the control plane ({Code}: {Detail}); keeping the ones this node has.")]
    private static partial void LogRefused(ILogger logger, string code, string detail);
}
