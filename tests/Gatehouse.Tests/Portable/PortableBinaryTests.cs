using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Cli;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Portable;

[CollectionDefinition(Name)]
public sealed class PublishedBinariesCollection : ICollectionFixture<PublishedBinaries>
{
    public const string Name = "published binaries";
}

/// <summary>
/// The self-contained single-file binaries (issue 21, portability): one ELF executable per architecture, and the x64 one
/// (this machine's) run where no .NET runtime can be found: help, the demo's config validated, a gateway that answers
/// /ready after restarting itself with its gen0 budget, and the demo with its portal from an empty folder.
/// </summary>
[Trait("Issue", "21")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(PublishedBinariesCollection.Name)]
public sealed partial class PortableBinaryTests(PublishedBinaries binaries) : IDisposable
{
    private const ushort X8664 = 62;
    private const ushort Aarch64 = 183;

    private readonly TempFolder _work = new();

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData("linux-x64", X8664)]
    [InlineData("linux-arm64", Aarch64)]
    public void Publish_WithTheDocumentedProfile_IsOneSelfContainedExecutableForItsMachine(string rid, ushort machine)
    {
        var folder = rid == "linux-x64" ? binaries.X64 : binaries.Arm64;
        Assert.True(Directory.Exists(folder), binaries.Logs[rid]);

        // One file: no runtime, no native library, no config beside it.
        var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f)).ToArray();
        Assert.Equal(["gatehouse"], files);
        var binary = Path.Combine(folder, "gatehouse");
        Assert.True(File.GetUnixFileMode(binary).HasFlag(UnixFileMode.UserExecute), "the binary is not executable");

        // The ELF header: magic, 64-bit, little-endian, and e_machine (offset 18) for the architecture.
        var header = new byte[20];
        using (var stream = File.OpenRead(binary))
        {
            stream.ReadExactly(header);
        }

        Assert.Equal([0x7F, (byte)'E', (byte)'L', (byte)'F'], header[..4]);
        Assert.Equal(2, header[4]);
        Assert.Equal(1, header[5]);
        Assert.Equal(machine, BitConverter.ToUInt16(header, 18));
    }

    [Fact]
    public async Task X64_WithoutDotnetOnThePath_PrintsHelpVersionAndSchema()
    {
        var environment = Bare();
        Assert.DoesNotContain(environment["PATH"].Split(':'), dir => File.Exists(Path.Combine(dir, "dotnet")));

        var help = await BareProcess.RunAsync(binaries.X64Binary, ["--help"], environment, _work.Path);
        Assert.True(help.Code == 0, help.Output);
        Assert.Contains("Usage:", help.Output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\s+run\s", help.Output);

        var version = await BareProcess.RunAsync(binaries.X64Binary, ["--version"], environment, _work.Path);
        Assert.True(version.Code == 0, version.Output);
        Assert.StartsWith("0.1.0", version.Output.Trim(), StringComparison.Ordinal);

        // The JSON Schema is an embedded resource of Gatehouse.Model: inside the bundle, read from it.
        var schema = await BareProcess.RunAsync(binaries.X64Binary, ["schema"], environment, _work.Path);
        Assert.True(schema.Code == 0, schema.Output);
        using var document = JsonDocument.Parse(schema.Output);
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", document.RootElement.GetProperty("$schema").GetString());
    }

    [Fact]
    public async Task X64_WithoutDotnet_ValidatesTheDemoConfig()
    {
        await using var shop = await RunningShop.StartAsync();
        var environment = Bare(shop.Environment);
        var config = Path.Combine(GatehouseProcess.RepositoryRoot, "examples", "shop", "gatehouse.yaml");

        var (code, output) = await BareProcess.RunAsync(binaries.X64Binary, ["validate", config], environment, _work.Path);

        Assert.True(code == 0, output);
        Assert.Contains("is valid: 4 services (7 operations), 11 routes, 1 composition, 4 plans, 1 account, 3 applications.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task X64_WithoutDotnet_Run_RestartsItselfWithItsGen0Budget_AndAnswersReady()
    {
        var file = _work.Write("gatehouse.yaml", """
            version: 1
            services:
              nowhere: { targets: ["http://127.0.0.1:9"] }
            routes:
              r: { path: /r, service: nowhere }
            """);
        await using var run = BareProcess.Start(binaries.X64Binary, ["run", "--config", file, "--port", "0", "--admin-url", "http://127.0.0.1:0"], Bare(), _work.Path);
        var ready = await run.WaitForOutputAsync(ReadyLine(), TimeSpan.FromSeconds(60));
        var gateway = await run.WaitForOutputAsync(ListeningLine(), TimeSpan.FromSeconds(5));

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using (var response = await client.GetAsync(ready + "/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var response = await client.GetAsync(gateway + "/nowhere"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        // The process serving is the binary itself, replaced in place with the budget (Gen0Budget), not dotnet, and
        // named gatehouse in ps; nothing of the machine's .NET installation is mapped into it.
        Assert.Equal(binaries.X64Binary, File.ResolveLinkTarget($"/proc/{run.Id}/exe", returnFinalTarget: false)?.FullName);
        Assert.Equal("gatehouse", (await File.ReadAllTextAsync($"/proc/{run.Id}/comm")).Trim());
        var budget = Gen0Budget.Choose(["run"], _ => null, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) is { } b ? $"0x{b:X}" : null;
        var variables = (await File.ReadAllTextAsync($"/proc/{run.Id}/environ")).Split('\0')
            .Where(v => v.StartsWith(Gen0Budget.RuntimeVariable + "=", StringComparison.Ordinal))
            .Select(v => v[(Gen0Budget.RuntimeVariable.Length + 1)..]);
        Assert.Equal(budget is null ? [] : [budget], variables);
        var dotnetRoot = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));
        var maps = await File.ReadAllLinesAsync($"/proc/{run.Id}/maps");
        Assert.DoesNotContain(maps, line => line.Contains(dotnetRoot + "/", StringComparison.Ordinal));
        Assert.Single(ReadyLine().Matches(run.Output));
    }

    [Fact]
    public async Task X64_Demo_FromAnEmptyFolder_ServesTheShopAndThePortalsAssets()
    {
        // No examples/ anywhere above the folder or beside the binary: the demo uses the copy built into it.
        await using var demo = BareProcess.Start(binaries.X64Binary, ["demo", "--port", "0", "--any-service-ports"], Bare(), _work.Path);
        var portal = await demo.WaitForOutputAsync(PortalLine(), TimeSpan.FromSeconds(90));
        var gateway = GatewayLine().Match(demo.Output).Groups[1].Value;
        Assert.True(File.Exists(Path.Combine(_work.Path, "tmp", "gatehouse-demo-config-" + Environment.UserName, "gatehouse.yaml")), demo.Output);

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using (var products = await client.GetAsync(gateway + "/products/3"))
        {
            Assert.True(products.IsSuccessStatusCode, demo.Output);
        }

        // The portal's pages (Razor components) and its assets (embedded resources, Scalar's among them).
        using (var home = await client.GetAsync(portal + "/"))
        {
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
            Assert.Contains("<html", await home.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }

        foreach (var (asset, atLeast) in new[] { ("site.css", 1_000), ("portal.js", 100), ("scalar.js", 100_000) })
        {
            using var response = await client.GetAsync($"{portal}/assets/{asset}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True((await response.Content.ReadAsByteArrayAsync()).Length >= atLeast, asset);
        }
    }

    [Fact]
    public async Task Arm64_UnderQemu_RunsTheDemo_AndServesTheShopWithAKey_AndThePortal()
    {
        // The linux-arm64 binary on this x64 machine: qemu-user runs it in an arm64 root that test.sh prepares (Debian's
        // cross libc and libstdc++, and the arm64 OpenSSL and ICU). Every instruction of .NET's arm64 runtime and JIT, and
        // of SQLite's arm64 build, is the Raspberry Pi's.
        const string Qemu = "/usr/bin/qemu-aarch64";
        var root = Path.Combine(GatehouseProcess.RepositoryRoot, ".artifacts", "arm64-root");
        Assert.True(File.Exists(Qemu), "qemu-aarch64 is missing: ./test.sh installs qemu-user with apt-get.");
        Assert.True(File.Exists(Path.Combine(root, ".complete")), $"{root} is missing: ./test.sh prepares it (as root, with apt-get).");
        var binary = Path.Combine(binaries.Arm64, "gatehouse");
        // W^X off under the emulator only: .NET writes the code it compiles through a second, writable mapping of the same
        // memory, and qemu-user (like Rosetta and other emulators: dotnet/runtime#94909, #102226) does not see those writes
        // as changes to code it has already translated, so it now and then runs stale code: "qemu: uncaught target signal
        // 11", or a NullReferenceException inside a reflection stub of System.Text.Json (the demo's shop, 2026-12-06:
        // 2 starts in 9 with W^X on, 0 in 12 with it off). The binary as shipped keeps W^X on; a Raspberry Pi runs that.
        var environment = Bare(new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = "/usr/lib/aarch64-linux-gnu", ["DOTNET_EnableWriteXorExecute"] = "0" });

        var version = await BareProcess.RunAsync(Qemu, ["-L", root, binary, "--version"], environment, _work.Path);
        Assert.True(version.Code == 0, version.Output);
        Assert.StartsWith("0.1.0", version.Output.Trim(), StringComparison.Ordinal);

        // .NET under qemu-user is not a platform .NET supports (dotnet/core's supported-OS notes), and before W^X was
        // turned off above the emulator itself died now and then while the runtime started ("qemu: uncaught target signal
        // 11", 2 CI runs in about 20 here, both before the demo's first line). That, and only that, is still tried once
        // more: a fault of the binary would repeat, and anything after start-up is not retried.
        async Task<(BareProcess Demo, string Portal)> StartDemoAsync(bool retryEmulatorCrash)
        {
            var started = BareProcess.Start(Qemu, ["-L", root, binary, "demo", "--port", "0", "--any-service-ports"], environment, _work.Path);
            try
            {
                return (started, await started.WaitForOutputAsync(PortalLine(), TimeSpan.FromSeconds(180)));
            }
            catch (TimeoutException) when (retryEmulatorCrash && started.Output.Contains("qemu: uncaught target signal", StringComparison.Ordinal))
            {
                await started.DisposeAsync();
                return await StartDemoAsync(retryEmulatorCrash: false);
            }
            catch
            {
                await started.DisposeAsync();
                throw;
            }
        }

        var (demo, portal) = await StartDemoAsync(retryEmulatorCrash: true);
        await using var running = demo;
        var gateway = GatewayLine().Match(demo.Output).Groups[1].Value;
        var retail = RetailKeyLine().Match(demo.Output).Groups[1].Value;
        Assert.NotEmpty(retail);

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using (var products = await client.GetAsync(gateway + "/products/3"))
        {
            Assert.True(products.IsSuccessStatusCode, demo.Output);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, gateway + "/users/1"))
        {
            request.Headers.Add("X-Api-Key", retail);
            using var user = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, user.StatusCode);
            Assert.True(user.Headers.Contains("RateLimit"), "the retail plan's limits were checked");
        }

        using (var anonymous = await client.GetAsync(gateway + "/users/1"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using (var home = await client.GetAsync(portal + "/"))
        {
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
            Assert.Contains("<html", await home.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>
    /// An environment with no .NET in it: a PATH of one empty folder, HOME and TMPDIR in the test's folder, and none
    /// of the test host's variables (DOTNET_ROOT among them).
    /// </summary>
    private Dictionary<string, string> Bare(IReadOnlyDictionary<string, string>? more = null)
    {
        var empty = Directory.CreateDirectory(Path.Combine(_work.Path, "bin")).FullName;
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = empty,
            ["HOME"] = Directory.CreateDirectory(Path.Combine(_work.Path, "home")).FullName,
            ["TMPDIR"] = Directory.CreateDirectory(Path.Combine(_work.Path, "tmp")).FullName,
        };
        foreach (var (name, value) in more ?? new Dictionary<string, string>())
        {
            environment[name] = value;
        }

        return environment;
    }

    [GeneratedRegex(@"/ready and /live on (http://[^\s)]+)")]
    private static partial Regex ReadyLine();

    [GeneratedRegex(@"Gatehouse is listening on (http://[^\s,]+)")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"demo portal: (http://\S+)")]
    private static partial Regex PortalLine();

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"demo key retail: (\S+)")]
    private static partial Regex RetailKeyLine();
}
