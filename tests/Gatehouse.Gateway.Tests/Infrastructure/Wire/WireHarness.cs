using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gatehouse.Gateway.Tests.Infrastructure.Wire;

/// <summary>How one wire case ended.</summary>
internal enum WireOutcome
{
    /// <summary>Refused (by the server's parser or the gateway); nothing reached the upstream.</summary>
    Refused,

    /// <summary>Exactly one request reached the upstream.</summary>
    Forwarded,

    /// <summary>Not sent: over HTTP/1.1 its bytes are two requests, not one (the framing tests cover pipelining).</summary>
    Skipped,
}

/// <summary>The result of one wire case: its outcome, what the upstream received, and what broke the property, if anything.</summary>
internal sealed record WireResult(WireOutcome Outcome, UpstreamRequest? Upstream, IReadOnlyList<string> Violations);

/// <summary>
/// A gateway with an HTTP/1.1 listener and an h2c listener in front of one upstream (a raw HTTP/1.1 socket, or a
/// Kestrel h2c server) on a catch-all route; runs <see cref="WireCase"/>s through it and checks the differential
/// property of issue 16 on each (see <c>WireDifferentialTests</c>).
/// </summary>
internal sealed class WireHarness : IAsyncDisposable
{
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(10);
    private readonly WireUpstream _upstream;
    private readonly TestGateway _gateway;
    private int _followUps;

    private WireHarness(WireUpstream upstream, TestGateway gateway)
    {
        _upstream = upstream;
        _gateway = gateway;
    }

    /// <summary>Connections the raw HTTP/1.1 upstream accepted so far (0 for h2c).</summary>
    public int UpstreamConnections => _upstream.Connections;

    public static async Task<WireHarness> StartAsync(bool h2cUpstream)
    {
        var upstream = await WireUpstream.StartAsync(h2cUpstream);
        var gateway = await TestGateway.StartAsync(Yaml(upstream.Url, h2cUpstream));
        return new WireHarness(upstream, gateway);
    }

    /// <summary>Sends <paramref name="c"/> over HTTP/2 (raw frames) or HTTP/1.1 (raw socket), then a follow-up request, and checks both.</summary>
    public async Task<WireResult> RunAsync(WireCase c, bool http2Front)
    {
        var violations = new List<string>();
        ClientRequest? client;
        var before = _upstream.Count;
        int? status;
        byte[]? body;
        if (!http2Front)
        {
            var bytes = c.Http1Bytes();
            if (WireOracle.EndsHeadEarly(bytes))
            {
                return new WireResult(WireOutcome.Skipped, null, []);
            }

            client = WireOracle.ReadHttp1(bytes);
            await using var raw = await RawClient.ConnectAsync(_gateway.Port);
            await raw.WriteAsync(bytes);
            var response = await raw.ReadResponseAsync(CaseTimeout, headRequest: c.Method.AsSpan().SequenceEqual("HEAD"u8));
            (status, body) = (response.StatusCode, response.Body);
        }
        else
        {
            client = WireOracle.ReadHttp2(c);
            var outcome = await RawHttp2Client.SendAsync(new Uri(_gateway.Host.Urls[1]).Port, c.Http2Fields(), CaseTimeout, tls: false);
            (status, body) = (outcome.Status, outcome.Body);
        }

        var arrived = _upstream.Since(before);
        var result = WireOutcome.Refused;
        UpstreamRequest? forwarded = null;
        if (arrived.Count == 0)
        {
            // A refusal: by the server's parser (4xx, 505 for a request line without a version, a reset), or by the
            // gateway (4xx, 501). A 502, 503 or 504 would mean the gateway tried an upstream that never saw the request.
            if (status is not (null or 0 or (>= 400 and < 500) or 501 or 505))
            {
                violations.Add($"{c}: nothing reached the upstream, yet the client got {status}");
            }
        }
        else if (arrived.Count > 1)
        {
            result = WireOutcome.Forwarded;
            violations.Add($"{c}: {arrived.Count} requests reached the upstream: {string.Join(" | ", arrived.Select(a => a.Raw))}");
        }
        else
        {
            result = WireOutcome.Forwarded;
            var (request, error, line, raw) = arrived[0];
            forwarded = request;
            if (client is null)
            {
                violations.Add($"{c}: a malformed request was forwarded as {WireCase.Literal(Encoding.Latin1.GetBytes(raw))}");
            }
            else if (error is not null)
            {
                violations.Add($"{c}: {error}");
            }
            else if (WireOracle.Compare(client, request!) is { } difference)
            {
                violations.Add($"{c}: {difference}");
            }
            else if (status != 200 || body is null || Encoding.Latin1.GetString(body) != (request!.Method == "HEAD" ? "" : line))
            {
                violations.Add($"{c}: the client got {status} '{(body is null ? "" : Encoding.Latin1.GetString(body))}', not the response to '{line}'");
            }
        }

        // The follow-up goes on the pooled upstream connection the case used, and must get its own answer.
        var id = ++_followUps;
        var beforeFollowUp = _upstream.Count;
        using var followUp = await _gateway.Client.GetAsync($"/follow-up/{id}");
        var followed = await followUp.Content.ReadAsStringAsync();
        if (followed != $"GET /follow-up/{id}")
        {
            violations.Add($"{c}: the follow-up request got '{followed}'");
        }

        _upstream.Since(beforeFollowUp);
        return new WireResult(result, forwarded, violations);
    }

    private static string Yaml(string upstreamUrl, bool h2c) => $$"""
        version: 1
        gateway:
          listeners:
            - url: http://127.0.0.1:0
            - url: http://127.0.0.1:0
              protocols: http2
        services:
          backend:
            targets: [{{upstreamUrl}}]
            protocol: {{(h2c ? "http2" : "http1")}}
            healthCheck:
              passive: { consecutiveFailures: 1, cooldown: 300s }
        routes:
          all:
            path: /{**rest}
            service: backend
        """;

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    /// <summary>
    /// The upstream of the test: a raw HTTP/1.1 socket (every byte kept, each head parsed strictly) or a Kestrel h2c
    /// server; either answers a request with "METHOD TARGET" as its body.
    /// </summary>
    private sealed class WireUpstream : IAsyncDisposable
    {
        private readonly RawBackend? _raw;
        private readonly TestBackend? _h2c;
        private readonly ConcurrentQueue<(UpstreamRequest?, string?, string, string)> _h2cRequests = new();

        private WireUpstream(RawBackend? raw, TestBackend? h2c)
        {
            _raw = raw;
            _h2c = h2c;
        }

        public string Url => _raw?.Url ?? _h2c!.Url;

        public int Count => _raw?.RequestHeads.Count ?? _h2cRequests.Count;

        public int Connections => _raw?.Connections ?? 0;

        public static async Task<WireUpstream> StartAsync(bool h2c)
        {
            if (!h2c)
            {
                return new WireUpstream(RawBackend.Start(async (stream, head, ct) =>
                {
                    var line = Line(head);
                    var body = head.StartsWith("HEAD ", StringComparison.Ordinal) ? "" : line;
                    await stream.WriteAsync(Encoding.Latin1.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {line.Length}\r\n\r\n{body}"), ct);
                }), null);
            }

            WireUpstream? self = null;
            var backend = await TestBackend.StartAsync(async context =>
            {
                var target = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
                var headers = context.Request.Headers.SelectMany(h => h.Value.Select(v => (h.Key, v ?? ""))).ToList();
                var line = $"{context.Request.Method} {target}";
                self!._h2cRequests.Enqueue((new UpstreamRequest(context.Request.Method, target, headers), null, line, line));
                await context.Response.WriteAsync(line);
            }, HttpProtocols.Http2);
            self = new WireUpstream(null, backend);
            return self;
        }

        /// <summary>The requests that arrived since the count was <paramref name="before"/>: parsed, the parse error, the echoed line, the raw text.</summary>
        public List<(UpstreamRequest? Request, string? Error, string Line, string Raw)> Since(int before)
        {
            var list = new List<(UpstreamRequest?, string?, string, string)>();
            if (_raw is not null)
            {
                var heads = _raw.RequestHeads;
                for (var i = before; i < heads.Count; i++)
                {
                    var request = WireOracle.ReadUpstreamHead(heads[i], out var error);
                    list.Add((request, error, Line(heads[i]), heads[i]));
                }

                return list;
            }

            var all = _h2cRequests.ToArray();
            for (var i = before; i < all.Length; i++)
            {
                list.Add(all[i]);
            }

            return list;
        }

        private static string Line(string head)
        {
            var line = head[..head.IndexOf("\r\n", StringComparison.Ordinal)];
            return line.EndsWith(" HTTP/1.1", StringComparison.Ordinal) ? line[..^" HTTP/1.1".Length] : line;
        }

        public async ValueTask DisposeAsync()
        {
            if (_raw is not null)
            {
                await _raw.DisposeAsync();
            }

            if (_h2c is not null)
            {
                await _h2c.DisposeAsync();
            }
        }
    }
}
