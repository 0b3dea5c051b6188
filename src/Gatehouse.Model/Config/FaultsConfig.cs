using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Fault injection, to test how clients and services cope: answers a share of requests with an error, or delays them,
/// before they are forwarded. Off unless written; every injected fault is logged and counted
/// (<c>gatehouse.faults.injected</c>).
/// </summary>
public sealed record FaultsConfig
{
    /// <summary>Answers a share of requests with a status, without forwarding them.</summary>
    public AbortFaultConfig? Abort { get; init; }

    /// <summary>Delays a share of requests before forwarding them.</summary>
    public DelayFaultConfig? Delay { get; init; }

    /// <summary>Only requests that carry this header are subject to faults.</summary>
    [NonEmpty]
    [DefaultText("every request")]
    public string? Header { get; init; }

    /// <summary>Only requests from these addresses or CIDR ranges are subject to faults.</summary>
    [DocType("list of IPs / CIDRs")]
    [DefaultText("any address")]
    public IReadOnlyList<string> From { get; init; } = [];
}

/// <summary>An injected error.</summary>
public sealed record AbortFaultConfig
{
    /// <summary>Share of requests aborted, in percent (0-100).</summary>
    [Minimum(0)]
    [RequiredKey("the share of requests aborted, in percent")]
    public required int Percent { get; init; }

    /// <summary>The status answered (a problem of type <c>fault-injected</c>).</summary>
    [Minimum(200)]
    public int Status { get; init; } = 503;
}

/// <summary>An injected delay.</summary>
public sealed record DelayFaultConfig
{
    /// <summary>Share of requests delayed, in percent (0-100).</summary>
    [Minimum(0)]
    [RequiredKey("the share of requests delayed, in percent")]
    public required int Percent { get; init; }

    /// <summary>How long.</summary>
    [RequiredKey("how long, e.g. '2s'")]
    public required TimeSpan Duration { get; init; }
}
