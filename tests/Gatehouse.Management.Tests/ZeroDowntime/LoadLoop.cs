using System.Collections.Concurrent;
using System.Diagnostics;

namespace Gatehouse.Management.Tests.ZeroDowntime;

/// <summary>
/// A few concurrent client loops against one URL on loopback, bounded in requests and time. Each response must be
/// 200 with the expected body; anything else (another status, a reset, a timeout) is a failure. Latencies are kept
/// per phase, so the same run measures "without applies" and "during applies". Also used by bench/Gatehouse.Bench.Applies.
/// </summary>
internal sealed class LoadLoop : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly Uri _url;
    private readonly string _expectedBody;
    private readonly int _maxRequests;
    private readonly TimeSpan _maxTime;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<double>[][] _latencies;
    private readonly Task[] _workers;
    private int _phase;
    private int _sent;

    private LoadLoop(Uri url, string expectedBody, int concurrency, int maxRequests, TimeSpan maxTime, int phases)
    {
        _client = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        _url = url;
        _expectedBody = expectedBody;
        _maxRequests = maxRequests;
        _maxTime = maxTime;
        _latencies = Enumerable.Range(0, concurrency).Select(_ => Enumerable.Range(0, phases).Select(_ => new List<double>(4096)).ToArray()).ToArray();
        _workers = new Task[concurrency];
    }

    /// <summary>Failures as "phase: what happened", in the order seen.</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    /// <summary>Starts <paramref name="concurrency"/> loops; they stop after <paramref name="maxRequests"/> in all, <paramref name="maxTime"/>, or <see cref="StopAsync"/>.</summary>
    public static LoadLoop Start(Uri url, string expectedBody, int concurrency, int maxRequests, TimeSpan maxTime, int phases = 2)
    {
        var loop = new LoadLoop(url, expectedBody, concurrency, maxRequests, maxTime, phases);
        for (var i = 0; i < concurrency; i++)
        {
            var worker = i;
            loop._workers[i] = Task.Run(() => loop.RunAsync(worker));
        }

        return loop;
    }

    /// <summary>Requests started from now on are counted in <paramref name="phase"/>.</summary>
    public void SetPhase(int phase) => Volatile.Write(ref _phase, phase);

    /// <summary>Completed requests of <paramref name="phase"/> (call after <see cref="StopAsync"/>).</summary>
    public int Count(int phase) => _latencies.Sum(w => w[phase].Count);

    /// <summary>The <paramref name="percentile"/> (0–100) latency of <paramref name="phase"/> in milliseconds.</summary>
    public double Percentile(int phase, double percentile)
    {
        var all = _latencies.SelectMany(w => w[phase]).Order().ToArray();
        return all.Length == 0 ? double.NaN : all[Math.Clamp((int)Math.Ceiling(percentile / 100 * all.Length) - 1, 0, all.Length - 1)];
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
    }

    private async Task RunAsync(int worker)
    {
        var started = Stopwatch.GetTimestamp();
        while (!_stop.IsCancellationRequested && Stopwatch.GetElapsedTime(started) < _maxTime && Interlocked.Increment(ref _sent) <= _maxRequests)
        {
            var phase = Volatile.Read(ref _phase);
            var begun = Stopwatch.GetTimestamp();
            try
            {
                // Not cancelled by StopAsync: a request in flight finishes, so stopping is never counted as a failure.
                using var response = await _client.GetAsync(_url, CancellationToken.None);
                var body = await response.Content.ReadAsStringAsync(CancellationToken.None);
                if ((int)response.StatusCode != 200 || body != _expectedBody)
                {
                    Failures.Enqueue($"phase {phase}: {(int)response.StatusCode} {body}");
                    continue;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                Failures.Enqueue($"phase {phase}: {e.GetType().Name}: {e.Message}");
                continue;
            }

            _latencies[worker][phase].Add(Stopwatch.GetElapsedTime(begun).TotalMilliseconds);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
        _client.Dispose();
    }
}
