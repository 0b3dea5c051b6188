using Gatehouse.Model.Registrations;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Runtime;

// Self-registered targets: kept beside the snapshots, so that they survive every Apply, and expired by this node's own
// clock, so that a target whose heartbeats stopped leaves even when the store that told us about it is unreachable.
internal sealed partial class GatewayRuntime
{
    private IReadOnlyDictionary<string, IReadOnlyList<RegisteredTarget>> _registrations = new Dictionary<string, IReadOnlyList<RegisteredTarget>>();
    private ITimer? _expiry;

    /// <summary>
    /// Replaces the live registrations (by service name) with <paramref name="live"/>: each becomes a destination of its
    /// service's upstream (weight 1, the service's health checks and load balancing) until its <c>ExpiresAt</c>, unless a
    /// later call renews or drops it. Services without <c>registration</c> settings, and URLs those settings do not
    /// allow, get none. The set is kept across <see cref="Apply(Gatehouse.Model.Config.GatehouseConfig)"/>.
    /// </summary>
    public void SetRegistrations(IReadOnlyDictionary<string, IReadOnlyList<RegisteredTarget>> live)
    {
        ArgumentNullException.ThrowIfNull(live);
        lock (_applyLock)
        {
            _registrations = live.ToDictionary(e => e.Key, e => (IReadOnlyList<RegisteredTarget>)[.. e.Value], StringComparer.Ordinal);
            if (_current is { } snapshot)
            {
                PushRegistrations(snapshot);
            }
        }
    }

    /// <summary>The registered URLs each upstream of the current snapshot serves now; for tests and diagnostics.</summary>
    internal IReadOnlyDictionary<string, Uri[]> RegisteredDestinations()
    {
        var snapshot = Current;
        return snapshot.Upstreams.ToDictionary(u => u.Key, u => u.Value.Registered.Select(d => d.Target).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Gives every upstream of <paramref name="snapshot"/> its live registered targets and arms the timer for the next
    /// expiry. Called with <c>_applyLock</c> held: from <see cref="SetRegistrations"/>, from <see cref="Apply(Gatehouse.Model.Config.GatehouseConfig)"/> before
    /// a snapshot goes live, and when a registration expires.
    /// </summary>
    private void PushRegistrations(GatewaySnapshot snapshot)
    {
        var now = _time.GetUtcNow();
        DateTimeOffset? next = null;
        foreach (var (name, upstream) in snapshot.Upstreams)
        {
            var urls = new List<Uri>();
            if (snapshot.Config.Services.TryGetValue(name, out var service) && service.Registration is { } settings
                && _registrations.TryGetValue(name, out var targets))
            {
                foreach (var target in targets)
                {
                    if (target.ExpiresAt <= now)
                    {
                        continue;
                    }

                    // Checked again here: the settings may have narrowed (allowedNetworks) since the admin API took it.
                    if (!RegistrationUrl.TryParse(target.Url.OriginalString, settings, out var url, out _))
                    {
                        continue;
                    }

                    urls.Add(url!);
                    next = next is null || target.ExpiresAt < next ? target.ExpiresAt : next;
                }
            }

            if (upstream.SetRegistered(urls))
            {
                LogRegisteredChanged(_logger, name, urls.Count);
            }
        }

        if (next is { } due)
        {
            _expiry ??= _time.CreateTimer(_ => Expire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            // A millisecond late rather than early: at the due time itself the registration is still (just) live.
            _expiry.Change(due - now + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
        }
        else
        {
            _expiry?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void Expire()
    {
        lock (_applyLock)
        {
            if (Volatile.Read(ref _disposed) == 0 && _current is { } snapshot)
            {
                PushRegistrations(snapshot);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: {Count} self-registered targets now")]
    private static partial void LogRegisteredChanged(ILogger logger, string service, int count);
}
