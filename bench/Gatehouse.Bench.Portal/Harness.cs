using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Bench.Portal;

/// <summary>
/// A backend in this process, a SQLite store preloaded with N portal applications (bulk SQL into the consumer tables,
/// as N sign-ups would leave them), and a real <c>gatehouse run --store</c> process with its portal.
/// </summary>
internal sealed class Harness : IAsyncDisposable
{
    private readonly Process _process;
    private readonly WebApplication _backend;
    private readonly string _directory;

    private Harness(Process process, WebApplication backend, string directory, string gatewayUrl, string portalUrl, string adminUrl, string key, long preloadMs)
    {
        (_process, _backend, _directory, GatewayUrl, PortalUrl, AdminUrl, Key, PreloadMs) = (process, backend, directory, gatewayUrl, portalUrl, adminUrl, key, preloadMs);
    }

    public string GatewayUrl { get; }

    public string PortalUrl { get; }

    /// <summary>The admin API's and the console's address.</summary>
    public string AdminUrl { get; }

    /// <summary>The admin token the process was started with (it signs in to the console too).</summary>
    public const string AdminToken = "gha_bench";

    /// <summary>The key of one preloaded application, for the load loops.</summary>
    public string Key { get; }

    public long PreloadMs { get; }

    /// <param name="applications">How many applications <paramref name="preload"/> writes (the default: <see cref="Preload.Applications"/>).</param>
    /// <param name="preload">Writes the store's consumer rows, given the database's path and the key of the first application.</param>
    /// <param name="plans">The config's plans, each granting the one route (the default: retail only).</param>
    public static async Task<Harness> StartAsync(int applications, Action<string, string>? preload = null, IReadOnlyList<string>? plans = null)
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-bench-portal-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var backend = builder.Build();
        backend.Run(context => context.Response.WriteAsync("""{"id":1,"name":"Ada"}"""));
        await backend.StartAsync();

        var db = Path.Combine(directory, "gatehouse.db");
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
            {{string.Concat((plans ?? ["retail"]).Select(p => $"  {p}: {{ include: [ {{ tag: users, access: read }} ] }}\n"))}}
            """;
        var clock = Stopwatch.StartNew();
        var key = ApiKeyHash.NewKey();
        await using (var store = await ConfigStores.OpenAsync(db, TimeProvider.System))
        {
            var (_, errors) = await StoreConfig.ImportAsync(store, yaml, directory, null, "bench", "import");
            if (errors.Count > 0)
            {
                throw new InvalidOperationException(string.Join("; ", errors));
            }
        }

        (preload ?? ((path, first) => Preload.Applications(path, applications, first)))(db, key);
        var preloadMs = clock.ElapsedMilliseconds;

        var (gatewayPort, adminPort, portalPort) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                Environment.GetEnvironmentVariable("GATEHOUSE_DLL") ?? FindDll(), "run", "--store", "sqlite:" + db, "--port", gatewayPort.ToString(),
                "--admin-url", $"http://127.0.0.1:{adminPort}", "--portal-url", $"http://127.0.0.1:{portalPort}", "--node-id", "bench",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        start.Environment["GATEHOUSE_ADMIN_TOKEN"] = AdminToken;
        var process = Process.Start(start)!;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("Developer portal on", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.Contains("fail", StringComparison.OrdinalIgnoreCase))
            {
                Console.WriteLine("gatehouse: " + line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await ready.Task.WaitAsync(TimeSpan.FromMinutes(3));
        return new Harness(process, backend, directory, $"http://127.0.0.1:{gatewayPort}", $"http://127.0.0.1:{portalPort}", $"http://127.0.0.1:{adminPort}", key, preloadMs);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindDll()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "Gatehouse", "bin", "Release", "net10.0", "gatehouse.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("No Release build of src/Gatehouse; run 'dotnet build -c Release src/Gatehouse' or set GATEHOUSE_DLL.");
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        await _backend.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
