using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Gatehouse.Model.Usage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// Everything a gateway records about requests (usage, the access log, metric labels, the server span), set up once at start
/// from <c>gateway.observability</c>. When none of it is on, <see cref="Active"/> is false and the request handler does not
/// come here at all. When some is on, a request gets one <see cref="RequestObservation"/>, and when it ends the records are
/// made and queued; every write to a store, file or exporter happens on a background loop.
/// </summary>
internal sealed class GatewayTelemetry : IAsyncDisposable
{
    // The most model-call records waiting for the aggregator (at most usage.bufferSize): a model call takes far longer than
    // the aggregator's quarter-second drain, so this is ample, and it keeps the queue small on nodes that serve no models.
    private const int AiBufferSize = 8192;

    private readonly GatewayRuntime _runtime;
    private readonly TimeProvider _time;
    private readonly WallClock _wallClock;
    private readonly RecordQueue<UsageRecord>? _usageQueue;
    private readonly RecordQueue<AiUsageRecord>? _aiQueue;
    private readonly ApplicationLabels? _labels;
    private readonly string? _node;
    private readonly OpenTelemetry.Trace.Sampler? _sampler;
    private readonly Func<object, Task> _completed;

    public GatewayTelemetry(GatewayRuntime runtime, ObservabilityConfig config, IUsageSink? usageSink, string? node, PrometheusText? prometheus, OpenTelemetry.Trace.Sampler? sampler, TimeProvider time, ILoggerFactory loggers,
        (int Records, TimeSpan Drain)? requestQueue = null)
    {
        (_runtime, _time, _node, _sampler) = (runtime, time, node, sampler);
        _wallClock = new WallClock(time);
        _completed = Completed;
        var metrics = prometheus is not null;
        Metrics = metrics;
        if (prometheus is not null)
        {
            prometheus.Requests = Requests = requestQueue is { } queue ? new RequestMetrics(queue.Records, drainInterval: queue.Drain) : new RequestMetrics();
        }

        Tracing = sampler is not null;
        if (usageSink is not null && config.Usage.Enabled)
        {
            _usageQueue = new RecordQueue<UsageRecord>(config.Usage.BufferSize);
            // Model calls' tokens and cost go where the sink keeps them: the store, or a hybrid node's journal, which uploads them.
            _aiQueue = usageSink is IAiUsageSink ? new RecordQueue<AiUsageRecord>(Math.Min(config.Usage.BufferSize, AiBufferSize)) : null;
            Usage = new UsageAggregator(_usageQueue, usageSink, node ?? "gateway", config.Usage, time, loggers.CreateLogger("Gatehouse.Usage"), _aiQueue);
            Usage.Start();
        }

        if (config.AccessLog is { } accessLog)
        {
            AccessLog = new AccessLogWriter(accessLog, node, loggers.CreateLogger("Gatehouse.AccessLog"));
        }

        if (metrics && config.Metrics.ApplicationLabel)
        {
            _labels = new ApplicationLabels(config.Metrics.MaxApplications, loggers.CreateLogger("Gatehouse.Metrics"));
        }

        Active = Usage is not null || AccessLog is not null || metrics || Tracing;
    }

    /// <summary>True when requests are observed at all.</summary>
    public bool Active { get; }

    public bool Metrics { get; }

    /// <summary>The per-request metrics (request durations, active requests, upstream attempts); null with metrics off.</summary>
    public RequestMetrics? Requests { get; }

    public bool Tracing { get; }

    /// <summary>The usage aggregator; null without a store or with usage off.</summary>
    public UsageAggregator? Usage { get; }

    /// <summary>Records refused because the usage queue was full.</summary>
    public long UsageQueueDropped => _usageQueue?.Dropped ?? 0;

    /// <summary>Model-call records refused because their queue was full.</summary>
    public long AiQueueDropped => _aiQueue?.Dropped ?? 0;

    /// <summary>True when model calls' tokens and cost are recorded as usage (a store keeps them).</summary>
    public bool RecordsAi => _aiQueue is not null;

    public AccessLogWriter? AccessLog { get; }

    /// <summary>Queues a model call's usage for the aggregator; never waits (a full queue drops and counts it).</summary>
    public void RecordAi(in AiUsageRecord record)
    {
        if (_aiQueue is not null && !_aiQueue.TryEnqueue(record))
        {
            GatewayMetrics.UsageDropped("ai_buffer_full");
        }
    }

    /// <summary>True when requests' usage is recorded (a store, usage on): what <see cref="RecordCalls"/> needs.</summary>
    public bool RecordsUsage => _usageQueue is not null;

    /// <summary>
    /// Queues usage that did not pass through the proxy (a service API authrep or report) for the aggregator; never waits
    /// (a full queue drops and counts it). <paramref name="latencyMicros"/> is <see cref="UsageRecord.Untimed"/> when unknown.
    /// </summary>
    public void RecordCalls(string application, string plan, string operation, int status, long hits, long latencyMicros)
    {
        if (_usageQueue is not null
            && !_usageQueue.TryEnqueue(new UsageRecord(_time.GetUtcNow().UtcTicks, application, plan, operation, status, latencyMicros, 0, 0, 0, hits)))
        {
            GatewayMetrics.UsageDropped("buffer_full");
        }
    }

    /// <summary>
    /// Begins observing a request: its <see cref="RequestObservation"/> (a request feature the handler fills in), the active
    /// requests gauge and the server span. The records are made when Kestrel reports the response complete
    /// (<see cref="HttpResponse.OnCompleted(Func{object, Task}, object)"/>), after the handler's task has ended.
    /// </summary>
    /// <remarks>
    /// A completion callback, not an async method around the handler: that wrapper's state machine (allocated for every
    /// proxied request, whose handling never completes synchronously) and its extra continuation cost about 0.15 µs a
    /// request in a profile of the proxy with everything observed (docs/benchmarks.md, issue 19). Kestrel keeps the callback
    /// list per connection and calls it once the response has ended, also when the handler threw (the status is then 500).
    /// </remarks>
    public RequestObservation Begin(HttpContext context)
    {
        var snapshot = _runtime.Current;
        var observation = new RequestObservation { StartTimestamp = _time.GetTimestamp(), Metrics = Requests, Context = context, Snapshot = snapshot };
        context.Features.Set(observation);
        observation.ActiveSlot = Requests?.Began(context.Request) ?? 0;
        if (_sampler is not null)
        {
            observation.Activity = GatewayTracing.StartServer(context, snapshot, snapshot.Config.Gateway.Observability.Tracing.AcceptTraceparent, _sampler, out var trace);
            observation.Trace = trace;
        }

        context.Response.OnCompleted(_completed, observation);
        return observation;
    }

    private Task Completed(object state)
    {
        var observation = (RequestObservation)state;
        var error = observation.Error;
        // Kestrel calls back after it has awaited the handler, so its task has ended; only a failed one is read (a wait on
        // one that had not ended would block a thread, so it is not read at all).
        if (error is null && observation.Handling is { IsFaulted: true } or { IsCanceled: true })
        {
            try
            {
                // Only when the handler failed (Kestrel has awaited it): the exception it ended with, as ASP.NET Core's
                // hosting metrics named it in error.type.
                observation.Handling.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                error = e.GetType().FullName ?? "_OTHER";
            }
        }

        Complete(observation, error);
        return Task.CompletedTask;
    }

    private void Complete(RequestObservation observation, string? error)
    {
        var context = observation.Context!;
        var snapshot = observation.Snapshot!;
        var failed = error is not null;
        var response = context.Response;
        var request = context.Request;
        var status = failed ? 500 : context.RequestAborted.IsCancellationRequested ? 499 : observation.Status ?? response.StatusCode;
        var end = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(observation.StartTimestamp, end);
        var bytesIn = observation.BytesIn > 0 ? observation.BytesIn : request.ContentLength ?? 0;
        var bytesOut = observation.BytesOut > 0 ? observation.BytesOut : response.ContentLength ?? 0;
        var route = observation.Route;
        var application = observation.Application ?? "";
        var plan = observation.Plan ?? "";
        var now = _wallClock.UtcTicksAt(end);

        Requests?.Ended(observation.ActiveSlot, request, route?.Template, plan, status, elapsed.Ticks, error);

        if (_usageQueue is not null
            && !_usageQueue.TryEnqueue(new UsageRecord(now, application, plan, route?.UsageOperation ?? "", status, (long)(elapsed.Ticks / 10), bytesIn, bytesOut, observation.Steps)))
        {
            GatewayMetrics.UsageDropped("buffer_full");
        }

        if (_labels is not null && application.Length > 0)
        {
            _labels.Count(application, plan);
        }

        if (AccessLog is not null && snapshot.Config.Gateway.Observability.AccessLog is { } log && AccessLogWriter.Wanted(log, status))
        {
            AccessLog.TryWrite(new AccessLogEntry(
                now,
                observation.RequestId ?? "",
                // The client as the access steps judged it: behind trusted proxies, not the last proxy's address.
                Hosting.GatewayRequestHandler.ClientAddress(context, snapshot),
                request.Method,
                request.Path.Value ?? "/",
                Redaction.Query(request.QueryString.Value ?? "", snapshot.Access?.KeyQueryParameter ?? snapshot.Config.Gateway.ApiKeys.QueryParameter),
                status,
                elapsed.TotalMilliseconds,
                bytesIn,
                bytesOut,
                route?.Id,
                route?.UsageOperation,
                application,
                plan,
                observation.Upstream,
                observation.Steps,
                request.Headers.UserAgent.Count > 0 ? request.Headers.UserAgent.ToString() : null,
                observation.Trace.TraceId,
                observation.Retries,
                observation.NotRetried));
        }

        if (observation.Activity is { } activity)
        {
            GatewayTracing.StopServer(activity, context, observation, status);
        }
    }

    private int _disposed;

    // Both GatewayHost (after the listeners drained) and the DI container dispose it; the first one does the work.
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (Usage is not null)
        {
            await Usage.DisposeAsync().ConfigureAwait(false);
        }

        if (AccessLog is not null)
        {
            await AccessLog.DisposeAsync().ConfigureAwait(false);
        }

        if (Requests is not null)
        {
            await Requests.DisposeAsync().ConfigureAwait(false);
        }
    }
}
