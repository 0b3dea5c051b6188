using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Bench.Portal;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Bench.HybridKeys;

/// <summary>
/// What the test HybridNodeConsumersTests starts, as real processes on loopback: a backend (in this process), a control
/// plane (<c>gatehouse run --role control --store sqlite:…</c>) with its node API on HTTPS, and a hybrid data node
/// (<c>gatehouse run --role data --control-plane https://…</c>) that never sees the store. This process opens the same
/// SQLite file and writes portal applications with <see cref="ConsumerService"/>, as another control plane's portal would.
/// </summary>
internal sealed partial class Harness : IAsyncDisposable
{
    public const string AdminToken = "gha_bench";
    private const string NodeId = "bench-edge";

    private readonly WebApplication _backend;
    private readonly Child _control;
    private readonly Child _data;
    private readonly string _directory;

    private Harness(WebApplication backend, Child control, Child data, string directory)
    {
        (_backend, _control, _data, _directory) = (backend, control, data, directory);
    }

    /// <summary>The data node's public listener.</summary>
    public required string GatewayUrl { get; init; }

    /// <summary>The control plane's node API (HTTPS).</summary>
    public required string NodeApiUrl { get; init; }

    /// <summary>The control plane's admin API.</summary>
    public required string AdminUrl { get; init; }

    /// <summary>The node API's certificate, which is all a client here trusts.</summary>
    public required X509Certificate2 Certificate { get; init; }

    public required IConfigStore Store { get; init; }

    public required ConsumerService Consumers { get; init; }

    public required ConsumerAccount Account { get; init; }

    /// <summary>The first preloaded application's key; null without a preload.</summary>
    public string? PreloadedKey { get; init; }

    public static async Task<Harness> StartAsync(string dll, int preload, Action<string> say)
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-bench-hybridkeys-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var backend = builder.Build();
        backend.Run(context => context.Response.WriteAsync("""{"id":1,"name":"Ada"}"""));
        await backend.StartAsync();

        var db = Path.Combine(directory, "cp.db");
        var yaml = $$"""
            version: 1
            services:
              users:
                targets: ["{{backend.Urls.First()}}"]
                operations:
                  users.getUser: { method: GET, path: "/users/{id}", tags: [users] }
            routes:
              users-get: { operation: users.getUser }
            plans:
              retail: { include: [ { tag: users, access: read } ] }
            """;
        await using (var store = await ConfigStores.OpenAsync("sqlite:" + db, TimeProvider.System))
        {
            var (_, errors) = await StoreConfig.ImportAsync(store, yaml, directory, null, "bench", "import");
            if (errors.Count > 0)
            {
                throw new InvalidOperationException(string.Join("; ", errors));
            }
        }

        string? preloadedKey = null;
        if (preload > 0)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            preloadedKey = ApiKeyHash.NewKey();
            Preload.Applications(db, preload, preloadedKey);
            SqliteConnection.ClearAllPools();
            say($"store: {preload:N0} portal applications preloaded in {clock.ElapsedMilliseconds:N0} ms");
        }

        var certificate = WriteCertificate(directory);
        var control = Child.Start("the control plane", dll, directory, new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = AdminToken },
            "run", "--role", "control", "--store", "sqlite:" + db, "--admin-url", "http://127.0.0.1:0", "--no-portal",
            "--node-api-url", "https://127.0.0.1:0", "--node-api-cert", Path.Combine(directory, "cp.crt"), "--node-api-key", Path.Combine(directory, "cp.key"),
            "--signing-key", Path.Combine(directory, "signing.pem"));
        Child? data = null;
        try
        {
            var nodeApi = (await control.WaitForAsync(NodeApiLine(), TimeSpan.FromMinutes(2))).Groups[1].Value;
            var admin = (await control.WaitForAsync(ControlLine(), TimeSpan.FromMinutes(2))).Groups[1].Value;
            var token = await IssueNodeTokenAsync(admin, "bench", NodeId);
            data = Child.Start("the hybrid data node", dll, directory, new Dictionary<string, string> { ["GATEHOUSE_NODE_TOKEN"] = token },
                "run", "--role", "data", "--control-plane", nodeApi, "--control-plane-key", Path.Combine(directory, "signing.pub.pem"),
                "--control-plane-ca", Path.Combine(directory, "cp.crt"), "--state-dir", Path.Combine(directory, "node"),
                "--port", "0", "--admin-url", "http://127.0.0.1:0", "--node-id", NodeId);
            var gateway = (await data.WaitForAsync(DataLine(), TimeSpan.FromMinutes(2))).Groups[1].Value.TrimEnd(',');

            var store = await ConfigStores.OpenAsync("sqlite:" + db, TimeProvider.System);
            // The config does not change during the bench: load it once, so no sample pays for a config load.
            var config = (await StoreConfig.LoadAsync(store, directory, null)).Result.Config;
            var consumers = new ConsumerService(store, null, _ => Task.FromResult(config), TimeProvider.System);
            // Every sample is one more application of the bench's one account: lift the portal's per-account cap.
            await store.SetSettingAsync(ConsumerService.MaxApplicationsSetting, ConsumerService.MaxApplicationsCeiling.ToString(CultureInfo.InvariantCulture));
            var problem = await consumers.SignUpAsync("bench@example.com", "Bench", "correct staple horse battery", CancellationToken.None);
            var (account, _, _) = await consumers.LogInAsync("bench@example.com", "correct staple horse battery", "127.0.0.1", CancellationToken.None);
            if (account is null)
            {
                throw new InvalidOperationException("the bench's account could not sign up and sign in: " + problem?.Detail);
            }

            return new Harness(backend, control, data, directory)
            {
                GatewayUrl = gateway,
                NodeApiUrl = nodeApi,
                AdminUrl = admin,
                Certificate = certificate,
                Store = store,
                Consumers = consumers,
                Account = account,
                PreloadedKey = preloadedKey,
            };
        }
        catch
        {
            Console.Error.WriteLine("control plane output:\n" + control.Output);
            if (data is not null)
            {
                Console.Error.WriteLine("data node output:\n" + data.Output);
                await data.DisposeAsync();
            }

            await control.DisposeAsync();
            await backend.DisposeAsync();
            throw;
        }
    }

    /// <summary>Issues a node token on the control plane's admin API, bound to <paramref name="node"/>.</summary>
    public async Task<string> IssueNodeTokenAsync(string name, string node) => await IssueNodeTokenAsync(AdminUrl, name, node);

    private static async Task<string> IssueNodeTokenAsync(string admin, string name, string node)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(admin) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", AdminToken);
        using var issued = await client.PostAsJsonAsync("/admin/node-tokens", new { name, node });
        var body = await issued.Content.ReadAsStringAsync();
        if (issued.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"POST /admin/node-tokens answered {(int)issued.StatusCode}: {body}");
        }

        return (string)JsonNode.Parse(body)!["token"]!;
    }

    // The node API's certificate: P-256, self-signed for 127.0.0.1, as the test makes it (no openssl needed).
    private static X509Certificate2 WriteCertificate(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        File.WriteAllText(Path.Combine(directory, "cp.crt"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "cp.key"), key.ExportPkcs8PrivateKeyPem());
        return certificate;
    }

    [GeneratedRegex(@"Node API for hybrid data nodes on (https://\S+);")]
    private static partial Regex NodeApiLine();

    [GeneratedRegex(@"Gatehouse control plane \(store revision \d+\): admin API on (http://[^\s;]+);")]
    private static partial Regex ControlLine();

    [GeneratedRegex(@"hybrid data node \S+ is listening on (http://\S+) \(")]
    private static partial Regex DataLine();

    public async ValueTask DisposeAsync()
    {
        await _data.DisposeAsync();
        await _control.DisposeAsync();
        await Store.DisposeAsync();
        await _backend.DisposeAsync();
        Certificate.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
