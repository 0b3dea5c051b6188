using System.Diagnostics;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using OpenTelemetry.Trace;

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
    /// client; null when nobody listens or <paramref name="sampler"/> drops it. <paramref name="trace"/> is the context the
    /// upstream gets either way: the span's, or for a dropped one a context of its own with the not-sampled flag.
    /// </summary>
    /// <remarks>
    /// The gateway samples before it makes a span (issue 19): the OpenTelemetry SDK makes an <see cref="Activity"/> even for
    /// a trace its sampler drops, only to carry the context on, and at 1% sampling that was 99 requests in 100 paying for an
    /// object, its start and stop and the listeners' callbacks (0.35 µs a request). <paramref name="sampler"/> is the one
    /// <c>OTEL_TRACES_SAMPLER</c> names (<see cref="SamplerFrom"/>); the SDK itself then samples everything it is given.
    /// </remarks>
    public static Activity? StartServer(HttpContext context, GatewaySnapshot snapshot, TraceparentTrust trust, Sampler sampler, out ActivityContext trace)
    {
        trace = default;
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

        var method = context.Request.Method;
        var continued = parent.TraceId != default;
        var traceId = continued ? parent.TraceId : ActivityTraceId.CreateRandom();
        if (sampler.ShouldSample(new SamplingParameters(parent, traceId, method, ActivityKind.Server)).Decision == SamplingDecision.Drop)
        {
            // Not sampled: the trace goes on with the flag cleared (and, for a trace begun here, the random-trace-id flag
            // of W3C Trace Context level 2, as .NET sets it), so that the services behind keep the decision.
            var flags = continued ? (ActivityTraceFlags)((int)parent.TraceFlags & ~(int)ActivityTraceFlags.Recorded) : RandomTraceId;
            trace = new ActivityContext(traceId, ActivitySpanId.CreateRandom(), flags, parent.TraceState);
            return null;
        }

        // Activity.Current would be the parent by default; the request's own context (or none) is the only one allowed.
        var previous = Activity.Current;
        Activity.Current = null;
        var activity = Source.StartActivity(method, ActivityKind.Server, parent);
        if (activity is not { IsAllDataRequested: true })
        {
            // Only when another listener of the source decided against it: not a span of this gateway's.
            Activity.Current = previous;
        }

        trace = activity?.Context ?? default;
        return activity;
    }

    // W3C Trace Context level 2's random-trace-id flag (0x02), which ActivityTraceFlags does not name.
    private const ActivityTraceFlags RandomTraceId = (ActivityTraceFlags)2;

    /// <summary>
    /// The sampler <c>OTEL_TRACES_SAMPLER</c> and <c>OTEL_TRACES_SAMPLER_ARG</c> name, as the OpenTelemetry SDK reads them:
    /// <c>always_on</c>, <c>always_off</c>, <c>traceidratio</c> and their <c>parentbased_</c> forms; <c>parentbased_always_on</c>
    /// when unset or unknown, a ratio of 1 when the argument is missing or outside 0..1.
    /// </summary>
    public static Sampler SamplerFrom(Func<string, string?> variable)
    {
        var arg = variable("OTEL_TRACES_SAMPLER_ARG");
        var ratio = double.TryParse(arg, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var r) && r is >= 0 and <= 1 ? r : 1.0;
        return variable("OTEL_TRACES_SAMPLER")?.Trim().ToLowerInvariant() switch
        {
            "always_on" => new AlwaysOnSampler(),
            "always_off" => new AlwaysOffSampler(),
            "traceidratio" => new TraceIdRatioBasedSampler(ratio),
            "parentbased_always_off" => new ParentBasedSampler(new AlwaysOffSampler()),
            "parentbased_traceidratio" => new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)),
            _ => new ParentBasedSampler(new AlwaysOnSampler()),
        };
    }

    /// <summary>The W3C <c>traceparent</c> of <paramref name="context"/>: <c>00-TRACEID-SPANID-FLAGS</c>.</summary>
    /// <remarks>
    /// Written here because .NET formats a <c>traceparent</c> only for an <see cref="Activity"/> (its <c>Id</c>, or the
    /// propagator's injection, which reads one), and a dropped trace has no Activity on purpose (see
    /// <see cref="StartServer"/>); OpenTelemetry's propagator takes a context but writes through a setter callback into
    /// a carrier, which is more than one string. The format is fixed: version 00, 32 and 16 lower-case hex digits, flags.
    /// </remarks>
    /// <remarks>
    /// The ids are copied as the lower-case hex strings they are kept as (<see cref="ActivityTraceId.ToHexString"/> hands
    /// out its own string): their <c>CopyTo</c> parses that hex back into bytes, which a profile showed at 0.7% of the
    /// proxy's CPU with tracing on, before this wrote the same hex again.
    /// </remarks>
    public static string Traceparent(ActivityContext context) =>
        string.Create(55, context, static (to, c) =>
        {
            "00-".CopyTo(to);
            c.TraceId.ToHexString().CopyTo(to[3..35]);
            to[35] = '-';
            c.SpanId.ToHexString().CopyTo(to[36..52]);
            to[52] = '-';
            var flags = (int)c.TraceFlags;
            to[53] = "0123456789abcdef"[(flags >> 4) & 0xF];
            to[54] = "0123456789abcdef"[flags & 0xF];
        });

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

    /// <summary>
    /// A client span for one call to a model provider (each fallback attempt its own), under OpenTelemetry's GenAI
    /// conventions, so that LLM observability tools read it: named <c>chat MODEL</c> (or <c>embeddings MODEL</c>), with
    /// <c>gen_ai.operation.name</c>, <c>gen_ai.provider.name</c>, <c>gen_ai.request.model</c>, <c>server.address</c> and
    /// the alias and provider of the config. Never a prompt or an answer. Null when tracing is off or not sampled.
    /// </summary>
    public static Activity? StartModelCall(bool embeddings, Ai.AiModelTarget target, string alias, System.Text.Json.Nodes.JsonObject call)
    {
        if (!Source.HasListeners() || Activity.Current is not { IsAllDataRequested: true })
        {
            return null;
        }

        var operation = embeddings ? "embeddings" : "chat";
        var activity = Source.StartActivity($"{operation} {target.Model}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            var provider = target.Provider;
            activity.SetTag("gen_ai.operation.name", operation);
            activity.SetTag("gen_ai.provider.name", provider.Type switch
            {
                AiProviderType.Anthropic => "anthropic",
                AiProviderType.Azure => "azure.ai.openai",
                _ => "openai",
            });
            activity.SetTag("gen_ai.request.model", target.Model);
            if (Ai.TokenLimiter.RequestedMaxTokens(call) is { } max)
            {
                activity.SetTag("gen_ai.request.max_tokens", max);
            }

            if (Uri.TryCreate(provider.BaseUrl, UriKind.Absolute, out var url))
            {
                activity.SetTag("server.address", url.Host);
                activity.SetTag("server.port", url.Port);
            }

            activity.SetTag("gatehouse.ai.alias", alias);
            activity.SetTag("gatehouse.ai.provider", provider.Name);
        }

        return activity;
    }

    /// <summary>Ends a model call's span: its status, its tokens when the provider reported them, or why it failed.</summary>
    public static void StopModelCall(Activity? activity, int status, string? error, Ai.AiUsage? usage)
    {
        if (activity is null)
        {
            return;
        }

        if (status > 0)
        {
            activity.SetTag("http.response.status_code", status);
        }

        if (usage is { Estimated: false } used)
        {
            activity.SetTag("gen_ai.usage.input_tokens", used.Prompt);
            activity.SetTag("gen_ai.usage.output_tokens", used.Completion);
        }

        if (error is not null || status >= 400)
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
