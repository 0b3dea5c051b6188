using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>
/// One gateway node recording usage into a store it opened itself (as a separate process would): a real GatewayHost on
/// 127.0.0.1:0 with the store as its usage sink and a node id.
/// </summary>
internal sealed class UsageNode : IAsyncDisposable
{
    private UsageNode(IConfigStore store, GatewayHost host)
    {
        Store = store;
        Host = host;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(host.Urls[0]), Timeout = TimeSpan.FromSeconds(30) };
    }

    public IConfigStore Store { get; }

    public GatewayHost Host { get; }

    public HttpClient Client { get; }

    public static async Task<UsageNode> StartAsync(string connection, string nodeId, string yaml, TimeProvider time, IUsageSink? sink = null)
    {
        var loaded = ConfigLoader.Load(yaml, Path.GetTempPath(), _ => null);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        var config = loaded.Config!;
        config = config with { Gateway = config.Gateway with { Listeners = [new ListenerConfig { Url = "http://127.0.0.1:0" }] } };
        var store = await ConfigStores.OpenAsync(connection, time);
        var host = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            Config = config,
            Time = time,
            UsageSink = sink ?? (IUsageSink)store,
            NodeId = nodeId,
            MetricsOnAdmin = true,
            MinimumLogLevel = Microsoft.Extensions.Logging.LogLevel.Error,
        });
        return new UsageNode(store, host);
    }

    /// <summary>Sends <paramref name="count"/> GETs of <paramref name="path"/> (with <paramref name="key"/> when given); returns the statuses.</summary>
    public async Task<List<int>> SendAsync(string path, int count, string? key = null)
    {
        var statuses = new List<int>();
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (key is not null)
            {
                request.Headers.Add("X-Api-Key", key);
            }

            using var response = await Client.SendAsync(request);
            statuses.Add((int)response.StatusCode);
        }

        return statuses;
    }

    /// <summary>Writes what this node recorded to the store now (as the flush loop does every interval).</summary>
    public async Task FlushAsync() => Assert.True(await Host.Telemetry.Usage!.FlushAsync(CancellationToken.None), "the flush failed");

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
        await Store.DisposeAsync();
    }
}
