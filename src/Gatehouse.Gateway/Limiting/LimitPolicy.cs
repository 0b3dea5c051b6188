using System.Globalization;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// A <see cref="LimitConfig"/> compiled for the request path: its counter slot, and its item of the
/// <c>RateLimit-Policy</c> header (draft-ietf-httpapi-ratelimit-headers-10, e.g. <c>"minute";q=100;w=60</c>) built
/// once here rather than per response.
/// </summary>
internal sealed class LimitPolicy
{
    private long _shadowDenials;

    private LimitPolicy(string name, int slot, LimitConfig config, bool cluster)
    {
        IsCluster = cluster;
        Sync = config.Sync;
        Lease = config.EffectiveLease;
        OnEngineDown = config.OnEngineDown;
        Name = name;
        Slot = slot;
        Requests = config.Requests;
        Per = config.Per;
        IsShadow = config.Mode == LimitMode.Shadow;
        IsQuota = config.Per is LimitPeriod.Hour or LimitPeriod.Day or LimitPeriod.Month;
        QuotedName = Quote(name);
        var w = LimitWindows.NominalSeconds(config.Per);

        // A calendar month has no fixed length, so its item leaves 'w' out (the draft makes it optional);
        // the RateLimit field's 't' still says exactly when the month rolls.
        PolicyItem = w is { } seconds
            ? string.Create(CultureInfo.InvariantCulture, $"{QuotedName};q={Requests};w={seconds}")
            : string.Create(CultureInfo.InvariantCulture, $"{QuotedName};q={Requests}");
    }

    /// <summary>The policy's name in the headers, unique within a <see cref="LimitSet"/>; by default the period (<c>minute</c>).</summary>
    public string Name { get; }

    /// <summary>The counter slot from <see cref="LimitCounters.SlotFor"/>.</summary>
    public int Slot { get; }

    public int Requests { get; }

    public LimitPeriod Per { get; }

    /// <summary>Shadow mode: decided and counted, never denies.</summary>
    public bool IsShadow { get; }

    /// <summary>An hour, day or month quota rather than a per-second or per-minute rate limit.</summary>
    public bool IsQuota { get; }

    /// <summary>
    /// Counted across the nodes sharing the counter engine (<c>scope: cluster</c>, the default when there is one); its
    /// counters are <see cref="Limiting.Cluster.ClusterCounter"/>s. False for shadow limits and when this node has no engine.
    /// </summary>
    public bool IsCluster { get; }

    /// <summary>For a cluster limit: leases (<c>strict</c>) or local counts synced (<c>fast</c>).</summary>
    public LimitSync Sync { get; }

    /// <summary>For a strict cluster limit: how many requests one lease reserves.</summary>
    public int Lease { get; }

    /// <summary>For a cluster limit: what this node does while the engine is down.</summary>
    public EngineDownAction OnEngineDown { get; }

    /// <summary>The name as a Structured Fields string, quotes included.</summary>
    public string QuotedName { get; }

    /// <summary>This policy's member of the <c>RateLimit-Policy</c> list.</summary>
    public string PolicyItem { get; }

    /// <summary>Requests a shadow policy would have denied since it was compiled (for metrics; not config state).</summary>
    public long ShadowDenials => Interlocked.Read(ref _shadowDenials);

    /// <summary>
    /// Compiles <paramref name="config"/>. <paramref name="key"/> names the limit stably across reloads (see
    /// <see cref="LimitCounters.SlotFor"/>); <paramref name="name"/> is what clients see, the period by default.
    /// </summary>
    public static LimitPolicy Compile(string key, LimitConfig config, LimitCounters counters, string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(config.Requests, 1);
        name ??= Units.CamelCase(config.Per.ToString());
        foreach (var c in name)
        {
            // A Structured Fields string holds printable ASCII only.
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException($"limit name '{name}' must be printable ASCII.", nameof(name));
            }
        }

        // A shadow limit is tried out on each node; only enforced limits count across nodes.
        var cluster = counters.Cluster is not null && config.Mode == LimitMode.Enforce && (config.Scope ?? LimitScope.Cluster) == LimitScope.Cluster;
        return new LimitPolicy(name, counters.SlotFor(key, config.Per, config.Mode, cluster), config, cluster);
    }

    internal void CountShadowDenial() => Interlocked.Increment(ref _shadowDenials);

    private static string Quote(string name) => "\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
