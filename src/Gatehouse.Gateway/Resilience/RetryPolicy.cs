using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Resilience;

/// <summary>The compiled form of a route's (or its service's) <see cref="RetryConfig"/>; immutable.</summary>
internal sealed class RetryPolicy
{
    // Index = status - 400: which 4xx and 5xx responses are retried.
    private readonly bool[] _statuses = new bool[200];

    public RetryPolicy(RetryConfig config)
    {
        Attempts = config.Attempts;
        NonIdempotent = config.NonIdempotent;
        MaxBodySize = config.MaxBodySize;
        BackOff = config.BackOff;
        MaxBackOff = config.MaxBackOff;
        MaxRetryAfter = config.MaxRetryAfter;
        PerTryTimeout = config.PerTryTimeout;
        foreach (var condition in config.RetryOn)
        {
            switch (condition)
            {
                case RetryReasons.ConnectFailure: ConnectFailure = true; break;
                case RetryReasons.Reset: Reset = true; break;
                case RetryReasons.Timeout: Timeout = true; break;
                default:
                    if (int.TryParse(condition, out var status) && status is >= 400 and <= 599)
                    {
                        _statuses[status - 400] = true;
                    }

                    break;
            }
        }
    }

    /// <summary>Attempts in all, the first one included.</summary>
    public int Attempts { get; }

    public bool NonIdempotent { get; }

    public long MaxBodySize { get; }

    public TimeSpan BackOff { get; }

    public TimeSpan MaxBackOff { get; }

    public TimeSpan MaxRetryAfter { get; }

    public TimeSpan? PerTryTimeout { get; }

    public bool ConnectFailure { get; }

    public bool Reset { get; }

    public bool Timeout { get; }

    /// <summary>True when a response with <paramref name="status"/> is retried.</summary>
    public bool RetriesStatus(int status) => status is >= 400 and <= 599 && _statuses[status - 400];

    /// <summary>Whether a request of <paramref name="method"/> that may have reached the upstream may be sent again.</summary>
    public bool MayRepeat(string method) => NonIdempotent || IsIdempotent(method);

    /// <summary>RFC 9110 §9.2.2: repeating these has the effect of sending them once.</summary>
    public static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method)
        || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);

    /// <summary>
    /// The wait before retry <paramref name="retry"/> (1 for the first): fully jittered exponential back-off, a uniform
    /// random wait up to min(maxBackOff, backOff × 2^(retry-1)), which spreads clients' retries apart best (the AWS
    /// Architecture Blog's "Exponential Backoff And Jitter").
    /// </summary>
    public TimeSpan NextBackOff(int retry)
    {
        var ceiling = BackOff.Ticks << Math.Min(retry - 1, 20);
        if (ceiling <= 0 || ceiling > MaxBackOff.Ticks)
        {
            ceiling = MaxBackOff.Ticks;
        }

        return ceiling <= 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Random.Shared.NextInt64(ceiling + 1));
    }
}
