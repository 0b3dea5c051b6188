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

    private Harness(Process process, WebApplication backend, string directory, string gatewayUrl, string portalUrl, string key, long preloadMs)
    {
        (_process, _backend, _directory, GatewayUrl, PortalUrl, Key, PreloadMs) = (process, backend, directory, gatewayUrl, portalUrl, key, preloadMs);
    }

    public string GatewayUrl { get; }

    public string PortalUrl { get; }

    /// <summary>The key of one preloaded application, for the load loops.</summary>
    public string Key { get; }

    public long PreloadMs { get; }

    public static async Task<Harness> StartAsync(int applications)
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
              retail: { include: [ { tag: users, access: read } ] }
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

        Preload.Applications(db, applications, key);
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
        start.Environment["GATEHOUSE_ADMIN_TOKEN"] = "gha_bench";
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
        return new Harness(process, backend, directory, $"http://127.0.0.1:{gatewayPort}", $"http://127.0.0.1:{portalPort}", key, preloadMs);
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
