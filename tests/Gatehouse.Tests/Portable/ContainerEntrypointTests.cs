using System.Diagnostics;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Portable;

/// <summary>
/// What the Dockerfile's image does, tested without a container engine (there is none on these machines): its
/// entrypoint script run directly against the published x64 binary, as a user that is not root, in a mount namespace
/// whose root filesystem is read-only but for the data folder; and the script's health check, which the image's
/// HEALTHCHECK runs.
/// </summary>
[Trait("Issue", "21")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(PublishedBinariesCollection.Name)]
public sealed partial class ContainerEntrypointTests(PublishedBinaries binaries) : IDisposable
{
    private const string Nobody = "65534";

    private readonly TempFolder _work = new();

    private static string Script => Path.Combine(GatehouseProcess.RepositoryRoot, "deploy", "entrypoint.sh");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task Entrypoint_ReadOnlyRootAndNotRoot_ServesReady_WritingOnlyIntoTheDataFolder()
    {
        // The image's layout: the binary and the script in /app (here: a folder of the test's), a config file, /data.
        var app = Directory.CreateDirectory(Path.Combine(_work.Path, "app")).FullName;
        File.Copy(binaries.X64Binary, Path.Combine(app, "gatehouse"));
        File.Copy(Script, Path.Combine(app, "entrypoint.sh"));
        var data = Directory.CreateDirectory(Path.Combine(_work.Path, "data")).FullName;
        await RunAsync("chown", $"{Nobody}:{Nobody}", data);
        var config = _work.Write("gatehouse.yaml", """
            version: 1
            services:
              nowhere: { targets: ["http://127.0.0.1:9"] }
            routes:
              r: { path: /r, service: nowhere }
            """);
        var admin = FreePort();

        // unshare -m: a mount namespace of its own, where / is remounted read-only after the data folder is bound onto
        // itself (so it stays writable). The probe write proves the root is read-only before gatehouse starts; then the
        // script runs as nobody, with a HOME that does not exist, as the image's user would.
        const string Namespace = """
            set -e
            mount --bind "$DATA" "$DATA"
            mount -o remount,bind,ro /
            if touch /tmp/gatehouse-rw-probe 2>/dev/null; then echo "the root filesystem is writable"; exit 3; fi
            exec setpriv --reuid=65534 --regid=65534 --clear-groups env -i PATH=/usr/bin:/bin HOME=/nonexistent \
              GATEHOUSE_BIN="$APP/gatehouse" GATEHOUSE_DATA="$DATA" "$APP/entrypoint.sh" "$@"
            """;
        var environment = new Dictionary<string, string> { ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin", ["DATA"] = data, ["APP"] = app };
        string[] arguments = ["-m", "bash", "-c", Namespace, "namespace", "run", "--config", config, "--port", "0", "--admin-url", $"http://127.0.0.1:{admin}"];

        var before = await BareProcess.RunAsync(Path.Combine(app, "entrypoint.sh"), ["health", $"http://127.0.0.1:{admin}/ready"], environment, _work.Path);
        Assert.Equal(1, before.Code);
        Assert.Contains("did not answer", before.Output, StringComparison.Ordinal);

        await using var run = BareProcess.Start("unshare", arguments, environment, _work.Path);
        await run.WaitForOutputAsync(ReadyLine(), TimeSpan.FromSeconds(60));

        var health = await BareProcess.RunAsync(Path.Combine(app, "entrypoint.sh"), ["health", $"http://127.0.0.1:{admin}/ready"], environment, _work.Path);
        Assert.True(health.Code == 0, health.Output + run.Output);

        // Not root, and everything it wrote is in the data folder: the native library the bundle unpacks, temp files.
        var uid = Regex.Match(await File.ReadAllTextAsync($"/proc/{run.Id}/status"), @"(?m)^Uid:\s+(\d+)").Groups[1].Value;
        Assert.Equal(Nobody, uid);
        Assert.Single(Directory.GetFiles(Path.Combine(data, ".bundle"), "libe_sqlite3.so", SearchOption.AllDirectories));
        Assert.True(Directory.Exists(Path.Combine(data, "tmp")), run.Output);
    }

    [Fact]
    public async Task Entrypoint_DataFolderNotWritable_SaysWhatToMount()
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = "/usr/bin:/bin",
            ["GATEHOUSE_BIN"] = binaries.X64Binary,
            ["GATEHOUSE_DATA"] = Path.Combine(_work.Path, "no-such-folder"),
        };

        var (code, output) = await BareProcess.RunAsync(Script, ["--help"], environment, _work.Path);

        Assert.Equal(1, code);
        Assert.Contains("is not a folder that user", output, StringComparison.Ordinal);
        Assert.Contains("mount a volume there", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://127.0.0.1:8081/ready")]
    [InlineData("127.0.0.1:8081")]
    public async Task Health_NotAPlainHttpUrl_ExitsTwoWithTheFix(string url)
    {
        var (code, output) = await BareProcess.RunAsync(Script, ["health", url], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, _work.Path);

        Assert.Equal(2, code);
        Assert.Contains("set GATEHOUSE_HEALTH_URL", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_ReadyAnswers503_Fails()
    {
        // A listener that answers as a draining gateway does: /ready 503.
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        var serve = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, leaveOpen: true);
            while (!string.IsNullOrEmpty(await reader.ReadLineAsync()))
            {
                // the request's head, up to its empty line
            }

            await stream.WriteAsync("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        });

        var (code, output) = await BareProcess.RunAsync(Script, ["health", $"http://127.0.0.1:{port}/ready"], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, _work.Path);
        await serve;

        Assert.Equal(1, code);
        Assert.Contains("503", output, StringComparison.Ordinal);
    }

    private static int FreePort() => Gatehouse.Gateway.Tests.Infrastructure.FreePorts.Tcp();

    private static async Task RunAsync(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { UseShellExecute = false })!;
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} exited {process.ExitCode}");
    }

    [GeneratedRegex(@"/ready and /live on (http://[^\s)]+)")]
    private static partial Regex ReadyLine();
}
