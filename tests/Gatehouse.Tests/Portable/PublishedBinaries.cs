using System.Diagnostics;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Portable;

/// <summary>
/// The single-file binaries of docs/deploy.md, published once for all the tests that use them, exactly as the docs say
/// (<c>dotnet publish src/Gatehouse -c Release -r RID -p:PublishProfile=RID</c>), into a folder of their own: the
/// build's intermediate files go under that folder too (<c>--artifacts-path</c>), so the repository's obj/ folders that
/// the other tests run from are left as test.sh built them. x64 first (the one that runs here), then arm64, which shares
/// the libraries' build with it (they do not depend on the runtime identifier): only the executable's project and the
/// bundle are made again, about a minute on the 2-core machine with its neighbours busy.
/// </summary>
public sealed class PublishedBinaries : IAsyncLifetime
{
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "gatehouse-portable-" + Guid.NewGuid().ToString("N")[..10]);

    /// <summary>The linux-x64 publish folder.</summary>
    public string X64 => Path.Combine(Folder, "linux-x64");

    /// <summary>The linux-arm64 publish folder.</summary>
    public string Arm64 => Path.Combine(Folder, "linux-arm64");

    public string X64Binary => Path.Combine(X64, "gatehouse");

    /// <summary>What each publish printed and how long it took, for a failing test's message.</summary>
    public Dictionary<string, string> Logs { get; } = [];

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Folder);
        foreach (var rid in new[] { "linux-x64", "linux-arm64" })
        {
            var started = Stopwatch.StartNew();
            var (code, output) = await RunAsync("dotnet", [
                "publish", Path.Combine(GatehouseProcess.RepositoryRoot, "src", "Gatehouse"), "-c", "Release", "-r", rid,
                $"-p:PublishProfile={rid}", "--artifacts-path", Path.Combine(Folder, "artifacts"),
                "-o", Path.Combine(Folder, rid), "-nologo", "-v", "quiet"]);
            Logs[rid] = $"dotnet publish for {rid} exited {code} after {started.Elapsed.TotalSeconds:0} s:\n{output}";
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = GatehouseProcess.RepositoryRoot };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
