using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// The <c>gatehouse</c> command a user gets (issue 24): the build packs it as a .NET tool, <c>dotnet tool install</c>
/// installs it from that folder, and the installed command works outside the repository, the demo included.
/// </summary>
[Trait("Issue", "24")]
public sealed partial class ToolPackageTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "gatehouse-tool-" + Guid.NewGuid().ToString("N")[..10]);

    public ToolPackageTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task PackedTool_InstallsAndRunsOutsideTheRepository_DemoIncluded()
    {
        // As the README says, from the build this test run already made (Debug; a user packs Release).
        var packages = Path.Combine(_folder, "packages");
        var pack = await RunAsync("dotnet", ["pack", Path.Combine(GatehouseProcess.RepositoryRoot, "src", "Gatehouse"), "-c", "Debug", "--no-build", "-o", packages, "-nologo"], GatehouseProcess.RepositoryRoot);
        Assert.True(pack.Code == 0, pack.Output);

        var tools = Path.Combine(_folder, "tools");
        var install = await RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", packages, "Gatehouse"], _folder);
        Assert.True(install.Code == 0, install.Output);
        var gatehouse = Path.Combine(tools, "gatehouse");
        Assert.True(File.Exists(gatehouse), "the tool's command is not where --tool-path put it");

        // Outside the repository: a config of the user's own.
        var work = Path.Combine(_folder, "work");
        Directory.CreateDirectory(work);
        await File.WriteAllTextAsync(Path.Combine(work, "my.yaml"), """
            version: 1
            services:
              s: { targets: ["http://127.0.0.1:9"] }
            routes:
              r: { path: /r, service: s }
            """);
        var validate = await RunAsync(gatehouse, ["validate", "my.yaml"], work);
        Assert.True(validate.Code == 0, validate.Output);
        Assert.Contains("is valid: 1 service (0 operations), 1 route.", validate.Output, StringComparison.Ordinal);

        // The demo finds the configuration that travels with the command (free ports: others may use 8080-8083).
        var demo = Start(gatehouse, ["demo", "--port", "0", "--any-service-ports"], work);
        try
        {
            var output = new StringBuilder();
            demo.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            demo.BeginOutputReadLine();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            Match running;
            while (!(running = GatewayLine().Match(Snapshot(output))).Success)
            {
                Assert.False(demo.HasExited, "the demo stopped:\n" + Snapshot(output));
                Assert.True(DateTime.UtcNow < deadline, "the demo did not start:\n" + Snapshot(output));
                await Task.Delay(100);
            }

            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var products = await client.GetAsync(running.Groups[1].Value + "/products/3");
            Assert.True(products.IsSuccessStatusCode, await products.Content.ReadAsStringAsync());
        }
        finally
        {
            demo.Kill(entireProcessTree: true);
            await demo.WaitForExitAsync();
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static Process Start(string program, string[] arguments, string directory)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        return Process.Start(start)!;
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, string[] arguments, string directory)
    {
        using var process = Start(program, arguments, directory);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();
}
