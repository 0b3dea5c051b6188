using System.Diagnostics;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// The gateway's spans (activity source <c>Gatehouse.Gateway</c>): one server span per request, one client span per upstream
/// attempt, one span per composition step. With no tracer listening, <see cref="ActivitySource.HasListeners"/> is false and
/// each is one check: tracing off costs nothing else.
/// </summary>
internal static class GatewayTracing
{
    public const string SourceName = "Gatehouse.Gateway";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// Starts the server span, continuing the client's W3C trace context only when <paramref name="trust"/> allows it for this
    /// client; null when nobody listens or the sampler drops it.
    /// </summary>
    public static Activity? StartServer(HttpContext context, GatewaySnapshot snapshot, TraceparentTrust trust)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var parent = default(ActivityContext);
        var believed = trust == TraceparentTrust.Any
            || (trust == TraceparentTrust.TrustedProxies && snapshot.IsTrustedProxy(context.Connection.RemoteIpAddress));
        var headers = context.Request.Headers;
        if (believed && headers["traceparent"] is { Count: 1 } traceparent)
        {
            var tracestate = headers["tracestate"] is { Count: 1 } state ? state.ToString() : null;
            ActivityContext.TryParse(traceparent.ToString(), tracestate, isRemote: true, out parent);
        }

        // Activity.Current would be the parent by default; the request's own context (or none) is the only one allowed.
        var previous = Activity.Current;
        Activity.Current = null;
        var activity = Source.StartActivity(context.Request.Method, ActivityKind.Server, parent);
        if (activity is not { IsAllDataRequested: true })
        {
            // A span the sampler dropped (99 requests in 100 at 1%) only carries the trace context to the upstream, which
            // takes it from RequestObservation.Activity; as Activity.Current it would be one more async-local value that
            // every await of the request copies along, and no child span is made under it anyway (StartClient, StartStep).
            Activity.Current = previous;
        }

        return activity;
    }

    /// <summary>Ends the server span with what the request became.</summary>
    public static void StopServer(Activity activity, HttpContext context, RequestObservation observation, int status)
    {
        // A span the sampler dropped exists only to pass the trace context on (the SDK's PropagationData): nobody reads
        // its name or tags, and at 1% sampling that is 99 requests in 100, so they are not made.
        if (!activity.IsAllDataRequested)
        {
            activity.Stop();
            return;
        }

        var request = context.Request;
        var route = observation.Route;
        activity.DisplayName = route is null ? request.Method : $"{request.Method} {route.Template}";
        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.Path.Value);
        activity.SetTag("http.response.status_code", status);
        if (route is not null)
        {
            activity.SetTag("http.route", route.Template);
            activity.SetTag("gatehouse.route", route.Id);
            activity.SetTag("gatehouse.operation", route.UsageOperation);
        }

        if (observation.Application is { Length: > 0 } application)
        {
            activity.SetTag("gatehouse.application", application);
        }

        if (observation.Plan is { Length: > 0 } plan)
        {
            activity.SetTag("gatehouse.plan", plan);
        }

        activity.SetTag("gatehouse.request_id", observation.RequestId);
        if (status >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error);
            activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        activity.Stop();
    }

    /// <summary>
    /// A client span for one upstream attempt, child of the current span; null when tracing is off or not sampled (a server
    /// span the sampler dropped is not <see cref="Activity.Current"/>: see <see cref="StartServer"/>).
    /// </summary>
    public static Activity? StartClient(string method, Upstreams.Destination destination, string service, string pathAndQuery, string? keyParameter)
    {
        // Under a server span the sampler dropped, a client span would be dropped too (the sampler is parent-based or
        // the trace is not recorded anyway): the upstream gets the server span's context instead, with the same
        // not-sampled flag, and no second Activity is made.
        if (!Source.HasListeners() || Activity.Current is not { IsAllDataRequested: true })
        {
            return null;
        }

        var activity = Source.StartActivity(method, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            var target = destination.Target;
            activity.SetTag("http.request.method", method);
            activity.SetTag("server.address", target.Host);
            activity.SetTag("server.port", target.Port);
            var q = pathAndQuery.IndexOf('?', StringComparison.Ordinal);
            var path = q < 0 ? pathAndQuery : pathAndQuery[..q];
            activity.SetTag("url.full", destination.BaseAddress + path + (q < 0 ? "" : Redaction.Query(pathAndQuery[q..], keyParameter)));
            activity.SetTag("gatehouse.service", service);
        }

        return activity;
    }

    /// <summary>Ends an upstream attempt's span.</summary>
    public static void StopClient(Activity activity, int status, string? error)
    {
        if (status > 0)
        {
            activity.SetTag("http.response.status_code", status);
        }

        if (error is not null || status >= 500)
        {
            activity.SetStatus(ActivityStatusCode.Error);
            activity.SetTag("error.type", error ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        activity.Stop();
    }

    /// <summary>A span for one composition step; null when tracing is off.</summary>
    public static Activity? StartStep(string composition, string step)
    {
        if (!Source.HasListeners() || Activity.Current is not { IsAllDataRequested: true })
        {
            return null;
        }

        var activity = Source.StartActivity($"step {step}", ActivityKind.Internal);
        activity?.SetTag("gatehouse.composition", composition);
        activity?.SetTag("gatehouse.step", step);
        return activity;
    }

    /// <summary>
    /// Whether tracing is switched on by the OpenTelemetry environment variables: an OTLP endpoint is set, or
    /// <c>OTEL_TRACES_EXPORTER</c> says <c>otlp</c>; and neither <c>OTEL_SDK_DISABLED=true</c> nor <c>OTEL_TRACES_EXPORTER=none</c>.
    /// </summary>
    public static bool EnabledBy(Func<string, string?> variable)
    {
        if (string.Equals(variable("OTEL_SDK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var exporter = variable("OTEL_TRACES_EXPORTER");
        if (string.Equals(exporter, "none", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return string.Equals(exporter, "otlp", StringComparison.OrdinalIgnoreCase)
            || !string.IsNullOrEmpty(variable("OTEL_EXPORTER_OTLP_ENDPOINT"))
            || !string.IsNullOrEmpty(variable("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
    }
}
