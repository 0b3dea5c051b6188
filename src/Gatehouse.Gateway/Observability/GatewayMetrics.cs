using System.Diagnostics.Metrics;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// Gatehouse's own metrics (meter <c>Gatehouse.Gateway</c>), beside the ones ASP.NET Core, Kestrel and HttpClient emit.
/// Every tag value comes from the configuration (service, plan, route names) or a short fixed list, never from a request, so
/// the number of series is bounded by the config; the one opt-in exception, the application, is capped
/// (<see cref="ApplicationLabels"/>). With no listener each is one enabled check.
/// </summary>
internal static class GatewayMetrics
{
    public const string MeterName = "Gatehouse.Gateway";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Ejections = Meter.CreateCounter<long>("gatehouse.upstream.ejections", "{ejection}", "Destinations taken out of rotation by passive health checks");

    private static readonly Counter<long> MetricsDrops = Meter.CreateCounter<long>("gatehouse.metrics.dropped", "{record}",
        "Request and upstream-attempt records the request metrics dropped because their queue was full (RequestMetrics)");

    private static readonly Counter<long> LimitRefusals = Meter.CreateCounter<long>("gatehouse.limit.refusals", "{request}",
        "Calls refused by a plan's limit, by plan, period, kind (rate, quota, tokens, spend) and source (proxy: a request to the gateway's routes, model calls included; service_api: an authorize or authrep answer)");

    private static readonly Counter<long> Reloads = Meter.CreateCounter<long>("gatehouse.config.reloads", "{reload}",
        "Configurations applied or refused, refusals by reason (invalid_config; a hybrid node's fetched snapshot also bad_signature, unknown_key, malformed, rollback)");

    private static readonly Counter<long> UsageDrops = Meter.CreateCounter<long>("gatehouse.usage.dropped", "{record}", "Usage records dropped (buffer full, or too many pending rows)");

    private static readonly Counter<long> UsageFlushFailures = Meter.CreateCounter<long>("gatehouse.usage.flush.failures", "{flush}", "Usage flushes the store did not take");

    private static readonly Counter<long> AccessLogDrops = Meter.CreateCounter<long>("gatehouse.access_log.dropped", "{line}", "Access log lines dropped because the writer fell behind");

    private static readonly Counter<long> ApplicationRequests = Meter.CreateCounter<long>("gatehouse.application.requests", "{request}", "Requests by application (opt-in: gateway.observability.metrics.applicationLabel)");

    private static readonly Counter<long> LabelOverflow = Meter.CreateCounter<long>("gatehouse.metrics.label_overflow", "{request}", "Requests counted under application=\"_other\" because the application label reached its cap");

    private static readonly Counter<long> CacheStoreErrors = Meter.CreateCounter<long>("gatehouse.cache.store.errors", "{operation}",
        "Operations the shared response cache (Redis) failed or did not answer in time, by operation (get: the request was forwarded as a miss; set: the answer was not kept; purge; invalidate: an unsafe request's change did not drop the answers it outdated)");

    private static readonly Counter<long> ResponseMismatches = Meter.CreateCounter<long>("gatehouse.validation.response.mismatches", "{response}",
        "Service responses that do not fit the operation's response schema (shadow check: they are delivered unchanged), by route and status");

    private static readonly Counter<long> ResponseChecks = Meter.CreateCounter<long>("gatehouse.validation.response.checked", "{response}",
        "Service responses the shadow response check read (the denominator of the mismatches), by route");

    private static readonly Counter<long> ResponseSkips = Meter.CreateCounter<long>("gatehouse.validation.response.skipped", "{response}",
        "Service responses the shadow response check did not read (larger than the validation size limit), by route");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Runtime.GatewayRuntime, TimeProvider> Runtimes = new();

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<UsageAggregator, bool> Aggregators = new();

    private static long _revision;

    static GatewayMetrics()
    {
        Meter.CreateObservableGauge("gatehouse.config.revision", () => Volatile.Read(ref _revision), "{revision}", "The configuration revision this gateway serves");
        Meter.CreateObservableGauge("gatehouse.upstream.destinations", Destinations, "{destination}", "Destinations of each service, by whether they may receive traffic now (health checks, ejections)");
        Meter.CreateObservableGauge("gatehouse.outliers.circuits", Circuits, "{destination}",
            "Destinations of each service with outlier detection, by circuit state: closed (in), open (ejected), half_open (ejection over, probed one request at a time)");
        Meter.CreateObservableGauge("gatehouse.usage.flush.age", FlushAge, "s",
            "Seconds since the store last took every usage row this node held (a successful flush; since the start until one has): near the flush interval while the store keeps up, growing while analytics are not written");
        Meter.CreateObservableGauge("gatehouse.usage.rows.pending", PendingRows, "{row}",
            "Usage rows this node holds in memory (requests' and model calls' rollups of the open buckets, written or not), each kind bounded by usage.maxPendingRows");
        Meter.CreateObservableGauge("gatehouse.outliers.panic", Panics, "{service}",
            "1 while a service with outlier detection is in panic mode (too few destinations available, so requests spread over all of them)");
    }

    /// <summary>Makes <paramref name="runtime"/>'s upstreams visible to <c>gatehouse.upstream.destinations</c> until <see cref="Forget(Runtime.GatewayRuntime)"/>.</summary>
    public static void Watch(Runtime.GatewayRuntime runtime, TimeProvider time) => Runtimes[runtime] = time;

    public static void Forget(Runtime.GatewayRuntime runtime) => Runtimes.TryRemove(runtime, out _);

    /// <summary>Makes <paramref name="usage"/> visible to the usage gauges until <see cref="Forget(UsageAggregator)"/>.</summary>
    public static void Watch(UsageAggregator usage) => Aggregators[usage] = true;

    public static void Forget(UsageAggregator usage) => Aggregators.TryRemove(usage, out _);

    // A process has one aggregator (a test process may run several gateways): the oldest flush is the one to alert on.
    private static IEnumerable<Measurement<double>> FlushAge()
    {
        if (!Aggregators.IsEmpty)
        {
            yield return new Measurement<double>(Aggregators.Keys.Max(a => a.SinceWritten.TotalSeconds));
        }
    }

    private static IEnumerable<Measurement<long>> PendingRows()
    {
        if (!Aggregators.IsEmpty)
        {
            yield return new Measurement<long>(Aggregators.Keys.Sum(a => (long)a.PendingRows + a.PendingAiRows));
        }
    }

    // The gauges below are read once per scrape, never per request: one measurement per service and state.
    private static IEnumerable<(string Name, Upstreams.Upstream Upstream, long Now)> Services()
    {
        foreach (var (runtime, time) in Runtimes)
        {
            Runtime.GatewaySnapshot snapshot;
            try
            {
                snapshot = runtime.Current;
            }
            catch (InvalidOperationException)
            {
                continue; // not started, or stopped
            }

            var now = time.GetTimestamp();
            foreach (var (name, upstream) in snapshot.Upstreams)
            {
                yield return (name, upstream, now);
            }
        }
    }

    private static IEnumerable<Measurement<long>> Destinations()
    {
        foreach (var (name, upstream, now) in Services())
        {
            long available = 0, out_ = 0;
            foreach (var destination in upstream.Destinations)
            {
                _ = destination.IsAvailable(now) ? available++ : out_++;
            }

            yield return new Measurement<long>(available, new("gatehouse.service", name), new("state", "available"));
            yield return new Measurement<long>(out_, new("gatehouse.service", name), new("state", "unavailable"));
        }
    }

    private static IEnumerable<Measurement<long>> Circuits()
    {
        foreach (var (name, upstream, now) in Services())
        {
            if (upstream.DetectsOutliers)
            {
                var (closed, open, halfOpen) = upstream.Circuits(now);
                yield return new Measurement<long>(closed, new("gatehouse.service", name), new("state", "closed"));
                yield return new Measurement<long>(open, new("gatehouse.service", name), new("state", "open"));
                yield return new Measurement<long>(halfOpen, new("gatehouse.service", name), new("state", "half_open"));
            }
        }
    }

    private static IEnumerable<Measurement<long>> Panics()
    {
        foreach (var (name, upstream, _) in Services())
        {
            if (upstream.DetectsOutliers)
            {
                yield return new Measurement<long>(upstream.Panicking ? 1 : 0, new KeyValuePair<string, object?>("gatehouse.service", name));
            }
        }
    }

    /// <summary>Observable instruments read per scrape (upstream health, queue depths) register here.</summary>
    internal static Meter Instance => Meter;

    public static void Ejected(string service)
    {
        if (Ejections.Enabled)
        {
            Ejections.Add(1, new KeyValuePair<string, object?>("gatehouse.service", service));
        }
    }

    public static void MetricsDropped()
    {
        if (MetricsDrops.Enabled)
        {
            MetricsDrops.Add(1);
        }
    }

    /// <summary>Where a limit refused a call: a request to the gateway's routes, or an answer of the service API.</summary>
    public enum LimitSource
    {
        Proxy,
        ServiceApi,
    }

    /// <summary>Which kind of limit refused a call: requests per period (<c>rate</c> under an hour, <c>quota</c> from an hour), a model call's tokens, or its cost.</summary>
    public enum LimitKind
    {
        Rate,
        Quota,
        Tokens,
        Spend,
    }

    // Label values made once: the tags are objects, and a string per refusal would allocate on a path a flood of refusals takes.
    private static readonly string[] Periods = Enum.GetValues<Gatehouse.Model.Config.LimitPeriod>().Select(p => p.ToString().ToLowerInvariant()).ToArray();
    private static readonly string[] Kinds = ["rate", "quota", "tokens", "spend"];
    private static readonly string[] Sources = ["proxy", "service_api"];

    /// <summary>Counts a call a plan's limit refused. Only the refusal path calls it: an admitted call pays nothing here.</summary>
    public static void Limited(string plan, Gatehouse.Model.Config.LimitPeriod period, LimitKind kind, LimitSource source)
    {
        if (LimitRefusals.Enabled)
        {
            var p = (int)period;
            LimitRefusals.Add(1, new("gatehouse.plan", plan), new("gatehouse.limit.period", (uint)p < (uint)Periods.Length ? Periods[p] : period.ToString().ToLowerInvariant()),
                new("gatehouse.limit.kind", Kinds[(int)kind]), new("gatehouse.limit.source", Sources[(int)source]));
        }
    }

    /// <summary>The reason a configuration refused for not loading, validating or compiling is counted under.</summary>
    public const string InvalidConfig = "invalid_config";

    /// <summary>
    /// Counts a configuration applied, or refused for <paramref name="reason"/>: <see cref="InvalidConfig"/>, or, for a
    /// snapshot a hybrid node fetched, <c>bad_signature</c>, <c>unknown_key</c>, <c>malformed</c> or <c>rollback</c>.
    /// </summary>
    public static void Reloaded(long revision, bool applied, string reason = InvalidConfig)
    {
        if (applied)
        {
            Volatile.Write(ref _revision, revision);
        }

        if (Reloads.Enabled)
        {
            if (applied)
            {
                Reloads.Add(1, new KeyValuePair<string, object?>("outcome", "applied"));
            }
            else
            {
                Reloads.Add(1, new KeyValuePair<string, object?>("outcome", "refused"), new KeyValuePair<string, object?>("reason", reason));
            }
        }
    }

    public static void UsageDropped(string reason, long count = 1)
    {
        if (UsageDrops.Enabled)
        {
            UsageDrops.Add(count, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public static void UsageFlushFailed()
    {
        if (UsageFlushFailures.Enabled)
        {
            UsageFlushFailures.Add(1);
        }
    }

    public static void AccessLogDropped()
    {
        if (AccessLogDrops.Enabled)
        {
            AccessLogDrops.Add(1);
        }
    }

    public static void CacheStoreError(string operation)
    {
        if (CacheStoreErrors.Enabled)
        {
            CacheStoreErrors.Add(1, new KeyValuePair<string, object?>("operation", operation));
        }
    }

    public static void ResponseMismatch(string route, int status)
    {
        if (ResponseMismatches.Enabled)
        {
            ResponseMismatches.Add(1, new("gatehouse.route", route), new("http.response.status_code", BoxedStatus.Of(status)));
        }
    }

    public static void ResponseChecked(string route)
    {
        if (ResponseChecks.Enabled)
        {
            ResponseChecks.Add(1, new KeyValuePair<string, object?>("gatehouse.route", route));
        }
    }

    public static void ResponseSkipped(string route)
    {
        if (ResponseSkips.Enabled)
        {
            ResponseSkips.Add(1, new KeyValuePair<string, object?>("gatehouse.route", route));
        }
    }

    public static void Application(string application, string plan, bool overflow)
    {
        ApplicationRequests.Add(1, new("gatehouse.application", application), new("gatehouse.plan", plan));
        if (overflow)
        {
            LabelOverflow.Add(1);
        }
    }
}

/// <summary>Boxed status codes, made once: a metric tag is an object, and boxing per recording would allocate.</summary>
internal static class BoxedStatus
{
    private static readonly object[] Boxes = Enumerable.Range(0, 600).Select(object (i) => i).ToArray();

    public static object Of(int status) => (uint)status < (uint)Boxes.Length ? Boxes[status] : status;
}
