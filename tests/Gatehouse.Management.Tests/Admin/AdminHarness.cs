using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Nodes;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>A real admin API (Kestrel on 127.0.0.1:0) over a real store: a SQLite file in a temp folder, or a given connection.</summary>
internal sealed class AdminHarness : IAsyncDisposable
{
    public const string Token = "gha_admin-token-for-tests";

    private readonly string _directory;

    private AdminHarness(string directory, IConfigStore store, AdminApi api, string? sqlitePath, List<GatehouseConfig> applied, FakeTime time)
    {
        Time = time;
        _directory = directory;
        Store = store;
        Api = api;
        SqlitePath = sqlitePath;
        Applied = applied;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(api.Url), Timeout = TimeSpan.FromSeconds(60) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public IConfigStore Store { get; }

    /// <summary>The admin API's base directory: relative file names in the configuration resolve against it.</summary>
    public string BaseDirectory => _directory;

    /// <summary>The clock of the store and of the admin API (moves only when told).</summary>
    public FakeTime Time { get; }

    public AdminApi Api { get; }

    /// <summary>The SQLite file, when the store is one.</summary>
    public string? SqlitePath { get; }

    /// <summary>Every config handed to the gateway seam, in order.</summary>
    public List<GatehouseConfig> Applied { get; }

    /// <summary>The node given to the admin API, if any (disposed with the harness).</summary>
    public NodeReporter? Node => _node;

    private NodeReporter? _node;

    /// <summary>A client that sends the admin token.</summary>
    public HttpClient Client { get; }

    public static async Task<AdminHarness> StartAsync(
        string? connection = null,
        Func<GatehouseConfig, IReadOnlyList<ConfigError>>? apply = null,
        long maxBodySize = 1024 * 1024,
        Func<IConfigStore, NodeReporter>? node = null,
        DateTimeOffset? now = null,
        TimeSpan? followInterval = null,
        Func<string, string?>? environment = null,
        Func<string, string?, CancellationToken, Task<int?>>? purgeCache = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "gatehouse-admin-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        string? sqlitePath = null;
        if (connection is null)
        {
            sqlitePath = Path.Combine(directory, "gatehouse.db");
            connection = "sqlite:" + sqlitePath;
        }

        var time = new FakeTime(now);
        var store = await ConfigStores.OpenAsync(connection, time);
        var applied = new List<GatehouseConfig>();
        var reporter = node?.Invoke(store);
        var api = await AdminApi.StartAsync(new AdminApiOptions
        {
            Url = "http://127.0.0.1:0",
            Store = store,
            TokenSha256 = ApiKeyHash.Sha256Hex(Token),
            MaxBodySize = maxBodySize,
            BaseDirectory = directory,
            Environment = environment ?? (_ => null),
            Apply = config =>
            {
                lock (applied)
                {
                    applied.Add(config);
                }

                return apply?.Invoke(config) ?? [];
            },
            ConfigureLogging = logging => logging.ClearProviders(),
            Node = reporter,
            PurgeCache = purgeCache,
            Time = time,
            // Off unless a test asks: tests that commit behind the API's back must not see it applied on a timer.
            FollowInterval = followInterval ?? Timeout.InfiniteTimeSpan,
        });
        return new AdminHarness(directory, store, api, sqlitePath, applied, time) { _node = reporter };
    }

    public Task<HttpResponseMessage> PutAsync(string path, string json, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return Client.SendAsync(request);
    }

    public async Task<JsonObject> PutOkAsync(string path, string json)
    {
        using var response = await PutAsync(path, json);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public static async Task<JsonObject> ReadObjectAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Api.DisposeAsync();
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        await Store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a pool on another thread; the temp folder is cleaned by the OS.
        }
    }
}
