using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Bench.Applies;

/// <summary>
/// A backend (Kestrel, in this process) and a real <c>gatehouse run --store</c> process on a SQLite file in a temp
/// folder, with its admin API. The store is also opened here, read-only in spirit, to time the admin API's steps.
/// </summary>
internal sealed class Harness : IAsyncDisposable
{
    public const string Body = "ok";
    private const string Token = "gha_bench";

    private readonly Process _gatehouse;

    private Harness(string directory, WebApplication backend, Process gatehouse, string gatewayUrl, string adminUrl, IConfigStore store, ConcurrentQueue<string> log)
    {
        Log = log;
        Directory = directory;
        Backend = backend;
        _gatehouse = gatehouse;
        GatewayUrl = gatewayUrl;
        Store = store;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(adminUrl), Timeout = TimeSpan.FromMinutes(10) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public string Directory { get; }

    public WebApplication Backend { get; }

    public string GatewayUrl { get; }

    public IConfigStore Store { get; }

    public HttpClient Client { get; }

    /// <summary>Every line the gatehouse process wrote (its "Revision N is live … compiled in X ms" lines among them).</summary>
    public ConcurrentQueue<string> Log { get; }

    public string BackendUrl => Backend.Urls.First();

    public static async Task<Harness> StartAsync()
    {
        var dll = Environment.GetEnvironmentVariable("GATEHOUSE_DLL") ?? FindDll();
        var directory = System.IO.Directory.CreateTempSubdirectory("gatehouse-bench-").FullName;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var backend = builder.Build();
        backend.Run(context => context.Response.WriteAsync(Body));
        await backend.StartAsync();

        var (gatewayPort, adminPort) = (FreePort(), FreePort());
        var db = Path.Combine(directory, "gatehouse.db");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "run", "--store", "sqlite:" + db, "--port", gatewayPort.ToString(), "--admin-url", $"http://127.0.0.1:{adminPort}", "--node-id", "bench", "--admin-max-body", (1L << 30).ToString(), "--no-portal" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        start.Environment["GATEHOUSE_ADMIN_TOKEN"] = Token;
        var process = Process.Start(start)!;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            log.Enqueue(line);
            if (line.Contains("Gatehouse is listening", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }

        await ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var store = await ConfigStores.OpenAsync(db, TimeProvider.System);
        return new Harness(directory, backend, process, $"http://127.0.0.1:{gatewayPort}", $"http://127.0.0.1:{adminPort}", store, log);
    }

    public async Task<(int Status, string Text)> SendAsync(HttpMethod method, string path, string json)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await Client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task PutOkAsync(string path, string json)
    {
        var (status, text) = await SendAsync(HttpMethod.Put, path, json);
        if (status is not (200 or 201) || JsonNode.Parse(text)?["applied"]?.GetValue<bool>() != true)
        {
            throw new InvalidOperationException($"PUT {path}: {status} {text}");
        }
    }

    /// <summary>The "compiled in" milliseconds of revision <paramref name="revision"/>, from the gateway's log.</summary>

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
        Client.Dispose();
        await Store.DisposeAsync();
        _gatehouse.Kill(entireProcessTree: true);
        await _gatehouse.WaitForExitAsync();
        _gatehouse.Dispose();
        await Backend.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
