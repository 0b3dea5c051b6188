namespace Gatehouse.Bench.Portal;

/// <summary>Closed-loop HTTP/1.1 keep-alive clients on one route with one key for a fixed window; every answer must be 200.</summary>
internal static class Load
{
    public sealed record Result(long Requests, long Errors, double Rps);

    public static async Task<Result> RunAsync(string gatewayUrl, string key, int loops, TimeSpan window)
    {
        long requests = 0;
        long errors = 0;
        using var stop = new CancellationTokenSource(window);
        var started = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(async () =>
        {
            using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(gatewayUrl) };
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync("/users/1", stop.Token);
                    await response.Content.ReadAsByteArrayAsync(stop.Token);
                    Interlocked.Increment(ref response.IsSuccessStatusCode ? ref requests : ref errors);
                }
                catch (OperationCanceledException)
                {
                }
            }
        })));
        return new Result(requests, errors, requests / started.Elapsed.TotalSeconds);
    }
}
