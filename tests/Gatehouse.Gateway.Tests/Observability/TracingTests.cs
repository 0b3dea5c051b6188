using System.Diagnostics;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>
/// Traces exported over OTLP/HTTP to a real receiver: one server span per request, one client span per upstream attempt,
/// the upstream sees the gateway's span as its parent, and a client's traceparent is believed only when configured.
/// </summary>
[Trait("Issue", "19")]
[Collection(SerialCollection.Name)]
public sealed class TracingTests
{
    private const string ClientTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ClientTraceparent = $"00-{ClientTraceId}-00f067aa0ba902b7-01";

    [Fact]
    public async Task Request_FromUntrustedClient_StartsItsOwnTraceWithServerAndClientSpans_AndTheUpstreamIsTheClientSpansChild()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        string? upstreamTraceparent = null;
        string[]? upstreamTracestate = null;
        await using var backend = await TestBackend.StartAsync(context =>
        {
            upstreamTraceparent = context.Request.Headers["traceparent"].ToString();
            upstreamTracestate = context.Request.Headers["tracestate"].ToArray()!;
            return context.Response.WriteAsync("ok");
        });
        var gateway = await StartAsync(backend, receiver, trustedProxies: "[]");
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/traced/1?api_key=hidden-value");
            request.Headers.Add("traceparent", ClientTraceparent);
            request.Headers.Add("tracestate", "congo=t61rcWkgMzE");
            using var response = await gateway.Client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode);
        }
        finally
        {
            await gateway.DisposeAsync(); // flushes the exporter
        }

        var spans = receiver.Spans.Where(s => s.Attributes.GetValueOrDefault("gatehouse.route") == "traced" || s.Attributes.GetValueOrDefault("gatehouse.service") == "traced-backend").ToList();
        var server = Assert.Single(spans, s => s.Kind == OtlpSpan.Server);
        var client = Assert.Single(spans, s => s.Kind == OtlpSpan.Client);
        Assert.NotEqual(ClientTraceId, server.TraceId);
        Assert.Equal("", server.ParentSpanId);
        Assert.Equal(server.TraceId, client.TraceId);
        Assert.Equal(server.SpanId, client.ParentSpanId);
        Assert.Equal("GET /traced/{id}", server.Name);
        Assert.Equal("200", server.Attributes["http.response.status_code"]);
        Assert.Equal("/traced/{id}", server.Attributes["http.route"]);
        // Flags: sampled (01), and .NET 10 also marks its trace ids random (02).
        Assert.Matches($"^00-{client.TraceId}-{client.SpanId}-0[13]$", upstreamTraceparent);
        // The client's tracestate belongs to the trace it was not allowed to continue: not forwarded.
        Assert.Empty(upstreamTracestate!);
        Assert.Contains("api_key=REDACTED", client.Attributes["url.full"], StringComparison.Ordinal);
        Assert.DoesNotContain("hidden-value", System.Text.Encoding.Latin1.GetString(receiver.AllBytes), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_FromTrustedProxy_ContinuesItsTrace()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await StartAsync(backend, receiver, trustedProxies: "[127.0.0.1, \"::1\"]");
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/traced/2");
            request.Headers.Add("traceparent", ClientTraceparent);
            using var response = await gateway.Client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var server = Assert.Single(receiver.Spans, s => s.Kind == OtlpSpan.Server && s.Attributes.GetValueOrDefault("gatehouse.route") == "traced");
        Assert.Equal(ClientTraceId, server.TraceId);
        Assert.Equal("00f067aa0ba902b7", server.ParentSpanId);
    }

    [Fact]
    public async Task UpstreamDown_EveryAttemptHasItsClientSpan_AndTheServerSpanIsAnError()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var gateway = await TestGateway.StartAsync(TestGateway.Parse("""
            version: 1
            services:
              down: { targets: [http://127.0.0.1:9, http://127.0.0.1:9/again] }
            routes:
              down: { path: /down, service: down }
            """), options: o => o with { TelemetrySettings = receiver.Settings() });
        try
        {
            using var response = await gateway.Client.GetAsync("/down");
            Assert.Equal(502, (int)response.StatusCode);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var server = Assert.Single(receiver.Spans, s => s.Kind == OtlpSpan.Server && s.Attributes.GetValueOrDefault("gatehouse.route") == "down");
        var attempts = receiver.Spans.Where(s => s.Kind == OtlpSpan.Client && s.ParentSpanId == server.SpanId).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Equal("502", server.Attributes["http.response.status_code"]);
    }

    [Fact]
    public void TracingSwitch_FollowsTheOpenTelemetryVariables()
    {
        Assert.False(Gatehouse.Gateway.Observability.GatewayTracing.EnabledBy(_ => null));
        Assert.True(Gatehouse.Gateway.Observability.GatewayTracing.EnabledBy(n => n == "OTEL_EXPORTER_OTLP_ENDPOINT" ? "http://collector:4318" : null));
        Assert.True(Gatehouse.Gateway.Observability.GatewayTracing.EnabledBy(n => n == "OTEL_TRACES_EXPORTER" ? "otlp" : null));
        Assert.False(Gatehouse.Gateway.Observability.GatewayTracing.EnabledBy(n => n switch { "OTEL_EXPORTER_OTLP_ENDPOINT" => "http://c:4318", "OTEL_SDK_DISABLED" => "true", _ => null }));
        Assert.False(Gatehouse.Gateway.Observability.GatewayTracing.EnabledBy(n => n switch { "OTEL_EXPORTER_OTLP_ENDPOINT" => "http://c:4318", "OTEL_TRACES_EXPORTER" => "none", _ => null }));
    }

    [Fact]
    public async Task Request_NotSampled_ExportsNoSpan_AndTheUpstreamGetsTheTraceWithTheNotSampledFlag()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var upstreamTraceparents = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var backend = await StartTraceparentBackendAsync(upstreamTraceparents);
        var gateway = await TestGateway.StartAsync(TestGateway.Parse($$"""
            version: 1
            gateway:
              trustedProxies: [127.0.0.1, "::1"]
            services:
              unsampled-backend: { targets: [{{backend.Url}}] }
            routes:
              unsampled: { path: "/unsampled/{id}", service: unsampled-backend }
            """), options: o => o with { TelemetrySettings = receiver.Settings("parentbased_always_off") });
        try
        {
            // A new trace the sampler drops, and a client's trace it sampled out (flag 00) that a trusted proxy passed on.
            using (var response = await gateway.Client.GetAsync("/unsampled/1"))
            {
                Assert.True(response.IsSuccessStatusCode);
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, "/unsampled/2");
            request.Headers.Add("traceparent", $"00-{ClientTraceId}-00f067aa0ba902b7-00");
            using (var response = await gateway.Client.SendAsync(request))
            {
                Assert.True(response.IsSuccessStatusCode);
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        Assert.DoesNotContain(receiver.Spans, s => s.Attributes.GetValueOrDefault("gatehouse.route") == "unsampled" || s.Attributes.GetValueOrDefault("gatehouse.service") == "unsampled-backend");
        var sent = upstreamTraceparents.ToArray();
        Assert.Equal(2, sent.Length);
        // The trace goes on with the not-sampled flag, so that services behind the gateway keep the decision.
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[02]$", sent[0]);
        Assert.Matches($"^00-{ClientTraceId}-(?!00f067aa0ba902b7)[0-9a-f]{{16}}-0[02]$", sent[1]);
    }

    [Fact]
    public async Task RatioSampler_SamplesItsShareOfNewTraces_OnceNotTwice_AndTheRestGoOnNotSampled()
    {
        // The gateway samples before it makes a span, with the sampler OTEL_TRACES_SAMPLER names; the SDK must not sample
        // again what it is given (at 0.5 that would be a quarter), and every request's trace reaches the upstream.
        await using var receiver = await OtlpReceiver.StartAsync();
        var upstreamTraceparents = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var backend = await StartTraceparentBackendAsync(upstreamTraceparents);
        var settings = new Dictionary<string, string?>(receiver.Settings("traceidratio")) { ["OTEL_TRACES_SAMPLER_ARG"] = "0.5" };
        var gateway = await TestGateway.StartAsync(TestGateway.Parse($$"""
            version: 1
            services:
              ratio-backend: { targets: [{{backend.Url}}] }
            routes:
              ratio: { path: "/ratio/{id}", service: ratio-backend }
            """), options: o => o with { TelemetrySettings = settings });
        const int Requests = 400;
        try
        {
            for (var i = 0; i < Requests; i++)
            {
                using var response = await gateway.Client.GetAsync($"/ratio/{i}");
                Assert.True(response.IsSuccessStatusCode);
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var servers = receiver.Spans.Where(s => s.Kind == OtlpSpan.Server && s.Attributes.GetValueOrDefault("gatehouse.route") == "ratio").ToList();
        var sent = upstreamTraceparents.ToArray();
        var sampled = sent.Count(t => (Convert.ToInt32(t[^2..], 16) & 1) == 1);
        // 200 expected; binomial standard deviation 10, so 140..260 is six of them either way.
        Assert.InRange(servers.Count, 140, 260);
        Assert.Equal(Requests, sent.Length);
        Assert.All(sent, t => Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$", t));
        Assert.Equal(servers.Count, sampled);
        Assert.Equal(Requests, sent.Select(t => t[3..35]).Distinct().Count());
    }

    [Fact]
    public async Task TracingOff_NoActivityIsCreated()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        Assert.False(gateway.Host.Telemetry.Tracing);
        Assert.False(gateway.Host.Telemetry.Active);
        using var response = await gateway.Client.GetAsync("/anything");
        Assert.True(response.IsSuccessStatusCode);
    }

    [Fact]
    public async Task CompositionSteps_EachCallHasItsClientSpan_AndTheServicesJoinTheTrace()
    {
        // A composition's calls carry the trace as a proxied request's attempts do: a client span under the step's span,
        // and a traceparent naming it, so the services behind a composition are in the client's trace.
        await using var receiver = await OtlpReceiver.StartAsync();
        var traceparents = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var backend = await TestBackend.StartAsync(context =>
        {
            traceparents.Enqueue(context.Request.Path + " " + context.Request.Headers["traceparent"]);
            return context.Response.WriteAsJsonAsync(new { id = 1 });
        });
        var gateway = await TestGateway.StartAsync(TestGateway.Parse($$"""
            version: 1
            services:
              composed-backend: { targets: [{{backend.Url}}] }
            compositions:
              both:
                path: /both
                steps:
                  first: { service: composed-backend, path: /first }
                  second: { service: composed-backend, path: /second }
                response:
                  first: "@first.body"
                  second: "@second.body"
            """), options: o => o with { TelemetrySettings = receiver.Settings() });
        try
        {
            using var response = await gateway.Client.GetAsync("/both");
            Assert.True(response.IsSuccessStatusCode);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var server = Assert.Single(receiver.Spans, s => s.Kind == OtlpSpan.Server && s.Name.Contains("/both", StringComparison.Ordinal));
        var trace = receiver.Spans.Where(s => s.TraceId == server.TraceId).ToList();
        var calls = trace.Where(s => s.Kind == OtlpSpan.Client && s.Attributes.GetValueOrDefault("gatehouse.service") == "composed-backend").ToList();
        Assert.Equal(2, calls.Count);
        foreach (var call in calls)
        {
            // Each call's parent is its step's span, which is the server span's child.
            var step = Assert.Single(trace, s => s.SpanId == call.ParentSpanId);
            Assert.Equal(server.SpanId, step.ParentSpanId);
            var path = call.Attributes["url.full"].EndsWith("/first", StringComparison.Ordinal) ? "/first" : "/second";
            Assert.Contains(traceparents, t => System.Text.RegularExpressions.Regex.IsMatch(t, $"^{path} 00-{call.TraceId}-{call.SpanId}-0[13]$"));
        }
    }

    private static Task<TestGateway> StartAsync(TestBackend backend, OtlpReceiver receiver, string trustedProxies) =>
        TestGateway.StartAsync(TestGateway.Parse($$"""
            version: 1
            gateway:
              trustedProxies: {{trustedProxies}}
            services:
              traced-backend: { targets: [{{backend.Url}}] }
            routes:
              traced: { path: "/traced/{id}", service: traced-backend }
            """), options: o => o with { TelemetrySettings = receiver.Settings() });

    /// <summary>A backend that answers "ok" and keeps the <c>traceparent</c> each request brought.</summary>
    private static Task<TestBackend> StartTraceparentBackendAsync(System.Collections.Concurrent.ConcurrentQueue<string> traceparents) =>
        TestBackend.StartAsync(context =>
        {
            traceparents.Enqueue(context.Request.Headers["traceparent"].ToString());
            return context.Response.WriteAsync("ok");
        });
}
