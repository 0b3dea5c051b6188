using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// The per-request metrics of the gateway's listeners, kept off the request path: <c>http_server_request_duration_seconds</c>
/// (what ASP.NET Core's hosting meter recorded, with the same names, labels and buckets, plus <c>gatehouse_plan</c>),
/// <c>http_server_active_requests</c> and <c>gatehouse_upstream_duration_seconds</c>. A request ends by putting one small
/// struct into a bounded, lock-free queue (<see cref="RecordQueue{T}"/>: a full queue drops the record and counts it in
/// <c>gatehouse_metrics_dropped_total</c>); a background loop, and every scrape before it writes, adds the records up into
/// cumulative histograms, which <see cref="PrometheusText"/> writes beside the SDK's metrics.
/// </summary>
/// <remarks>
/// Written here because the OpenTelemetry SDK aggregates on the thread that records: every request paid for its tag-set
/// lookup (seven tags sorted and hashed), a bucket search and the point's lock, and ASP.NET Core's hosting meter two
/// recordings of <c>http.server.active_requests</c> besides; measured with everything else on, metrics cost 5.4% of the
/// proxy's CPU per request (docs/benchmarks.md). Here the request path only queues, and the background loop finds a
/// record's series by comparing it with the one before (a burst of one route's requests is one dictionary lookup).
/// The SDK still aggregates every other instrument, which are recorded per connection, per retry or per refusal.
/// </remarks>
internal sealed class RequestMetrics : IAsyncDisposable
{
    /// <summary>The bucket bounds ASP.NET Core advises for <c>http.server.request.duration</c>, in seconds (also used upstream).</summary>
    internal static readonly double[] Bounds = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    // The methods the semantic conventions name; any other is counted as _OTHER, as ASP.NET Core does.
    private static readonly string[] Methods = [HttpMethods.Get, HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch, HttpMethods.Head, HttpMethods.Options, HttpMethods.Trace, HttpMethods.Connect, "_OTHER"];

    private readonly RecordQueue<Record> _queue;
    private readonly Lock _lock = new();
    private readonly Family _server = new();
    private readonly Family _upstream = new();
    private readonly long[] _active = new long[Methods.Length * 2 * 8]; // one counter a cache line: [method, https]
    private readonly bool[] _seen = new bool[Methods.Length * 2]; // the gauge's series: each (method, scheme) once seen
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly int _maxSeries;

    /// <param name="bufferSize">The queue's records.</param>
    /// <param name="maxSeries">The label sets of each family before the overflow series.</param>
    /// <param name="drainInterval">How often the background loop adds up what is queued (100 ms); infinite: only scrapes do.</param>
    public RequestMetrics(int bufferSize = 1 << 16, int maxSeries = 2000, TimeSpan? drainInterval = null)
    {
        _queue = new RecordQueue<Record>(bufferSize);
        _maxSeries = maxSeries;
        // Every 100 ms: the queue's 65,536 records then hold 650,000 requests a second before any is dropped.
        var interval = drainInterval ?? TimeSpan.FromMilliseconds(100);
        _loop = interval == Timeout.InfiniteTimeSpan ? Task.CompletedTask : Task.Run(() => LoopAsync(interval));
    }

    /// <summary>Records refused because the queue was full.</summary>
    public long Dropped => _queue.Dropped;

    /// <summary>Records waiting to be added up.</summary>
    public long Queued => _queue.Count;

    /// <summary>A request began: counted in <c>http_server_active_requests</c> until <see cref="Ended"/>.</summary>
    public int Began(HttpRequest request)
    {
        var series = (MethodIndex(request.Method) * 2) + (request.IsHttps ? 1 : 0);
        if (!_seen[series])
        {
            _seen[series] = true;
        }

        var slot = series * 8;
        Interlocked.Increment(ref _active[slot]);
        return slot;
    }

    /// <summary>A request ended: queues what the duration histogram needs and takes it out of the active requests.</summary>
    public void Ended(int slot, HttpRequest request, string? route, string plan, int status, long elapsedTicks, string? error)
    {
        Interlocked.Decrement(ref _active[slot]);
        Enqueue(new Record(Methods[slot / 16], request.IsHttps ? "https" : "http", ProtocolVersion(request.Protocol), route, plan, status, elapsedTicks, error));
    }

    /// <summary>One attempt to a service: its status, or <paramref name="error"/> when no response came.</summary>
    public void Upstream(string service, long elapsedTicks, int status, string? error) =>
        Enqueue(new Record(null, null, null, service, "", status, elapsedTicks, error));

    private void Enqueue(in Record record)
    {
        if (!_queue.TryEnqueue(record))
        {
            GatewayMetrics.MetricsDropped();
        }
    }

    /// <summary>Adds up what is queued, then writes the three families as Prometheus text (exposition format 0.0.4).</summary>
    public void WriteTo(StringBuilder text)
    {
        lock (_lock)
        {
            Drain();
            WriteHistogram(text, "http_server_request_duration_seconds", "Duration of HTTP server requests.", _server, ServerLabels);
            text.Append("# HELP http_server_active_requests Number of active HTTP server requests.\n# TYPE http_server_active_requests gauge\n");
            for (var m = 0; m < Methods.Length; m++)
            {
                for (var https = 0; https < 2; https++)
                {
                    if (Volatile.Read(ref _seen[(m * 2) + https]))
                    {
                        var active = Volatile.Read(ref _active[((m * 2) + https) * 8]);
                        text.Append("http_server_active_requests{http_request_method=\"").Append(Methods[m]).Append("\",url_scheme=\"")
                            .Append(https == 1 ? "https" : "http").Append("\"} ").Append(active.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    }
                }
            }

            WriteHistogram(text, "gatehouse_upstream_duration_seconds", "Time from sending a request to a service to its response headers, per attempt", _upstream, UpstreamLabels);
        }
    }

    private async Task LoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                lock (_lock)
                {
                    Drain();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Drain()
    {
        Series? last = null;
        Record lastRecord = default;
        while (_queue.TryDequeue(out var record))
        {
            // Records of one route come in runs; the strings are the live config's and Kestrel's own, so comparing
            // references with the record before finds the series without hashing in the common case.
            var series = last is not null && record.SameAs(lastRecord) ? last : Find(record);
            series.Add(record.ElapsedTicks / (double)TimeSpan.TicksPerSecond);
            (last, lastRecord) = (series, record);
        }
    }

    private Series Find(in Record record)
    {
        var family = record.Method is null ? _upstream : _server;
        var key = new Key(record.Method, record.Scheme, record.Protocol, record.Name, record.Plan, record.Status, record.Error);
        if (!family.Series.TryGetValue(key, out var series))
        {
            if (family.Series.Count >= _maxSeries)
            {
                // As the SDK does past its cardinality limit: one series for everything that did not fit.
                return family.Overflow ??= new Series();
            }

            family.Series[key] = series = new Series();
        }

        return series;
    }

    private static void ServerLabels(StringBuilder text, in Key key)
    {
        var first = true;
        Label(text, ref first, "error_type", key.Error);
        Label(text, ref first, "gatehouse_plan", key.Plan.Length > 0 ? key.Plan : null);
        Label(text, ref first, "http_request_method", key.Method);
        Label(text, ref first, "http_response_status_code", key.Status.ToString(CultureInfo.InvariantCulture));
        Label(text, ref first, "http_route", key.Name);
        Label(text, ref first, "network_protocol_version", key.Protocol);
        Label(text, ref first, "url_scheme", key.Scheme);
    }

    private static void UpstreamLabels(StringBuilder text, in Key key)
    {
        var first = true;
        Label(text, ref first, "error_type", key.Error);
        Label(text, ref first, "gatehouse_service", key.Name);
        Label(text, ref first, "http_response_status_code", key.Error is null ? key.Status.ToString(CultureInfo.InvariantCulture) : null);
    }

    private delegate void LabelWriter(StringBuilder text, in Key key);

    private static void Label(StringBuilder text, ref bool first, string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        text.Append(first ? '{' : ',').Append(name).Append("=\"");
        PrometheusText.AppendLabelValue(text, value);
        text.Append('"');
        first = false;
    }

    private static void WriteHistogram(StringBuilder text, string name, string help, Family family, LabelWriter labels)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(" histogram\n");
        foreach (var (key, series) in family.Series)
        {
            WriteSeries(text, name, series, t => labels(t, key));
        }

        if (family.Overflow is { } overflow)
        {
            WriteSeries(text, name, overflow, t => t.Append("{otel_metric_overflow=\"true\""));
        }
    }

    // labels writes "{a=\"b\"" (open: the caller adds le and the brace), or nothing when there are none.
    private static void WriteSeries(StringBuilder text, string name, Series series, Action<StringBuilder> labels)
    {
        long cumulative = 0;
        for (var i = 0; i <= Bounds.Length; i++)
        {
            cumulative += series.Buckets[i];
            text.Append(name).Append("_bucket");
            var start = text.Length;
            labels(text);
            text.Append(text.Length == start ? '{' : ',').Append("le=\"")
                .Append(i < Bounds.Length ? Bounds[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf").Append("\"} ")
                .Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        foreach (var (suffix, value) in new[] { ("_sum", series.Sum.ToString("R", CultureInfo.InvariantCulture)), ("_count", series.Count.ToString(CultureInfo.InvariantCulture)) })
        {
            text.Append(name).Append(suffix);
            var start = text.Length;
            labels(text);
            if (text.Length != start)
            {
                text.Append('}');
            }

            text.Append(' ').Append(value).Append('\n');
        }
    }

    private static int MethodIndex(string method)
    {
        // Kestrel hands out these very instances for the methods it knows.
        for (var i = 0; i < Methods.Length - 1; i++)
        {
            if (ReferenceEquals(method, Methods[i]))
            {
                return i;
            }
        }

        var known = Array.IndexOf(Methods, HttpMethods.GetCanonicalizedValue(method), 0, Methods.Length - 1);
        return known < 0 ? Methods.Length - 1 : known;
    }

    private static string ProtocolVersion(string protocol) =>
        ReferenceEquals(protocol, HttpProtocol.Http11) || protocol == HttpProtocol.Http11 ? "1.1"
        : protocol == HttpProtocol.Http2 ? "2"
        : protocol == HttpProtocol.Http3 ? "3"
        : protocol == HttpProtocol.Http10 ? "1.0"
        : "_OTHER";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>
    /// One request (<see cref="Method"/> set) or one upstream attempt (<see cref="Method"/> null; <see cref="Name"/> is the
    /// service). <see cref="Name"/> is the route's template for a request, null when it matched none.
    /// </summary>
    private readonly record struct Record(string? Method, string? Scheme, string? Protocol, string? Name, string Plan, int Status, long ElapsedTicks, string? Error)
    {
        public bool SameAs(in Record other) =>
            ReferenceEquals(Method, other.Method) && ReferenceEquals(Scheme, other.Scheme) && ReferenceEquals(Protocol, other.Protocol)
            && ReferenceEquals(Name, other.Name) && ReferenceEquals(Plan, other.Plan) && Status == other.Status && ReferenceEquals(Error, other.Error);
    }

    private readonly record struct Key(string? Method, string? Scheme, string? Protocol, string? Name, string Plan, int Status, string? Error);

    private sealed class Family
    {
        public Dictionary<Key, Series> Series { get; } = [];

        public Series? Overflow { get; set; }
    }

    private sealed class Series
    {
        public long[] Buckets { get; } = new long[Bounds.Length + 1];

        public double Sum { get; private set; }

        public long Count { get; private set; }

        public void Add(double seconds)
        {
            // The first bound at or above the value (Prometheus's le); past the last one, +Inf.
            var i = 0;
            while (i < Bounds.Length && seconds > Bounds[i])
            {
                i++;
            }

            Buckets[i]++;
            Sum += seconds;
            Count++;
        }
    }
}
