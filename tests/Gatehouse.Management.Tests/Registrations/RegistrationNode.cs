using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Registrations;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Registrations;

/// <summary>
/// One node as <c>gatehouse run --store</c> wires it: a real gateway (Kestrel on 127.0.0.1:0), the admin API beside it,
/// and a <see cref="RegistrationFollower"/> feeding the gateway from a real store (a SQLite file, or a given connection).
/// Everything runs on the system clock, as the expiry under test does.
/// </summary>
internal sealed class RegistrationNode : IAsyncDisposable
{
    public const string AdminToken = "gha_admin-token-for-registration-tests";

    private readonly string? _directory;

    private RegistrationNode(string? directory, IConfigStore store, GatewayHost gateway, RegistrationFollower follower, AdminApi admin)
    {
        _directory = directory;
        Store = store;
        Gateway = gateway;
        Follower = follower;
        Admin = admin;
        GatewayClient = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(gateway.Urls[0]) };
    }

    public IConfigStore Store { get; }

    public GatewayHost Gateway { get; }

    public RegistrationFollower Follower { get; }

    public AdminApi Admin { get; }

    /// <summary>A client of the gateway's public listener.</summary>
    public HttpClient GatewayClient { get; }

    public static async Task<RegistrationNode> StartAsync(string? connection = null)
    {
        string? directory = null;
        if (connection is null)
        {
            directory = Path.Combine(Path.GetTempPath(), "gatehouse-reg-" + Guid.NewGuid().ToString("N")[..10]);
            Directory.CreateDirectory(directory);
            connection = "sqlite:" + Path.Combine(directory, "gatehouse.db");
        }

        var store = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            Config = new GatehouseConfig { Gateway = new GatewayConfig { Listeners = [new ListenerConfig { Url = "http://127.0.0.1:0" }] } },
            ConfigureLogging = logging => logging.ClearProviders(),
        });
        var follower = new RegistrationFollower(store, gateway.Runtime.SetRegistrations, interval: TimeSpan.FromMilliseconds(200));
        follower.Start();
        var admin = await AdminApi.StartAsync(new AdminApiOptions
        {
            Url = "http://127.0.0.1:0",
            Store = store,
            TokenSha256 = ApiKeyHash.Sha256Hex(AdminToken),
            BaseDirectory = directory ?? Path.GetTempPath(),
            Environment = _ => null,
            Apply = gateway.Runtime.Apply,
            Registrations = follower,
            ConfigureLogging = logging => logging.ClearProviders(),
        });
        return new RegistrationNode(directory, store, gateway, follower, admin);
    }

    /// <summary>A client of the admin API sending <paramref name="token"/> (none when null).</summary>
    public HttpClient AdminClient(string? token = AdminToken)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(Admin.Url) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>PUTs a resource with the admin token and asserts it was committed and applied.</summary>
    public async Task PutResourceAsync(string path, string json)
    {
        using var client = AdminClient();
        using var response = await client.PutAsync(path, Json(json));
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The bodies (or status codes) of <paramref name="requests"/> GETs of <c>/x</c> through the gateway.</summary>
    public async Task<SortedSet<string>> AnswersAsync(int requests = 8)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < requests; i++)
        {
            using var response = await GatewayClient.GetAsync("/x");
            seen.Add(response.StatusCode == HttpStatusCode.OK
                ? await response.Content.ReadAsStringAsync()
                : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return seen;
    }

    /// <summary>A backend on 127.0.0.1:0 that answers every request with <paramref name="name"/>.</summary>
    public static async Task<WebApplication> StartBackendAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync(name));
        await app.StartAsync();
        return app;
    }

    public async ValueTask DisposeAsync()
    {
        GatewayClient.Dispose();
        await Admin.DisposeAsync();
        await Follower.DisposeAsync();
        await Gateway.DisposeAsync();
        await Store.DisposeAsync();
        if (_directory is not null)
        {
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
}
