using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Gatehouse.Bench.HybridKeys;

/// <summary>
/// <c>--probe</c>: a second node (its own token and id) long-polling <c>GET /node/v1/consumers?after=N</c> as the data node
/// does, recording when each consumer change's batch arrives. Against the commit's time it is the control plane's part
/// (its 250 ms store check, the read, the signature, TLS); the rest of a sample is the data node's (verify, apply, the
/// gateway's answer). It asks the control plane for one more read and signature per change, so it is off by default.
/// </summary>
internal sealed class Probe : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<long, long> _arrivals = new();
    private Task _loop = Task.CompletedTask;

    private Probe(HttpClient http) => _http = http;

    public static async Task<Probe> StartAsync(Harness harness, long after)
    {
        var token = await harness.IssueNodeTokenAsync("probe", "bench-probe");
        var thumbprint = harness.Certificate.Thumbprint;
        var http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == thumbprint },
        })
        {
            BaseAddress = new Uri(harness.NodeApiUrl),
            Timeout = Timeout.InfiniteTimeSpan,
        };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        http.DefaultRequestHeaders.Add("Gatehouse-Node", "bench-probe");
        var probe = new Probe(http);
        probe._loop = Task.Run(() => probe.LoopAsync(after));
        return probe;
    }

    /// <summary>The Stopwatch timestamp at which a batch reaching consumer change <paramref name="seq"/> arrived, if one did.</summary>
    public long? ArrivedAt(long seq) => _arrivals.TryGetValue(seq, out var at) ? at : null;

    private async Task LoopAsync(long after)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var response = await _http.GetAsync($"/node/v1/consumers?after={after.ToString(CultureInfo.InvariantCulture)}", _stop.Token);
                var at = Stopwatch.GetTimestamp();
                await response.Content.ReadAsByteArrayAsync(_stop.Token);
                if (response.StatusCode == HttpStatusCode.OK
                    && long.TryParse(response.Headers.GetValues("Gatehouse-Consumer-Seq").First(), CultureInfo.InvariantCulture, out var seq))
                {
                    _arrivals.TryAdd(seq, at);
                    after = seq;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e)
            {
                Console.WriteLine("probe: " + e.Message);
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _http.Dispose();
        _stop.Dispose();
    }
}
