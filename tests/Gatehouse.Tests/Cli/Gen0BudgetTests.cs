using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Cli;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// The gen0 budget the long-lived commands run with: chosen from the command, the operator's variables and the memory,
/// and set by the process replacing itself, which must keep its id, its output and its work.
/// </summary>
public sealed class Gen0BudgetTests
{
    private const long GiB = 1L << 30;
    private const long MiB = 1L << 20;

    private static readonly Regex Listening = new(@"Gatehouse is listening on (http://[^\s,]+)");

    [Theory]
    [InlineData(new[] { "run" }, 64 * MiB)]
    [InlineData(new[] { "run", "--config", "gatehouse.yaml" }, 64 * MiB)]
    [InlineData(new[] { "demo", "--port", "0" }, 64 * MiB)]
    [InlineData(new[] { "validate", "gatehouse.yaml" }, null)]
    [InlineData(new[] { "key", "new" }, null)]
    [InlineData(new[] { "--help" }, null)]
    [InlineData(new string[0], null)]
    public void Choose_OnlyTheLongLivedCommands_GetABudget(string[] args, long? expected) =>
        Assert.Equal(expected, Gen0Budget.Choose(args, _ => null, 24 * GiB));

    [Theory]
    [InlineData(Gen0Budget.Switch, "0", null)]
    [InlineData(Gen0Budget.Switch, "1", 64 * MiB)]
    [InlineData(Gen0Budget.RuntimeVariable, "0x200000", null)]
    [InlineData("COMPlus_GCgen0size", "0x200000", null)]
    [InlineData(Gen0Budget.RuntimeVariable, "", 64 * MiB)]
    [InlineData("DOTNET_DiagnosticPorts", "/tmp/dotnet-trace.sock,suspend", null)]
    public void Choose_TheOperatorsSettingWins(string name, string value, long? expected) =>
        Assert.Equal(expected, Gen0Budget.Choose(["run"], n => n == name ? value : null, 24 * GiB));

    [Theory]
    [InlineData(64 * GiB, 64 * MiB)]
    [InlineData(4 * GiB, 64 * MiB)]
    [InlineData(2 * GiB, 32 * MiB)]
    [InlineData(1 * GiB, 16 * MiB)]
    [InlineData(1 * GiB - 1, null)]
    [InlineData(512 * MiB, null)]
    [InlineData(0, null)]
    public void Choose_AFractionOfTheMemory_NotWhereItIsScarce(long memory, long? expected) =>
        Assert.Equal(expected, Gen0Budget.Choose(["run"], _ => null, memory));

    [Fact]
    public void Choose_NotWithServerGc_WhichSizesEveryHeapsGen0() =>
        Assert.Null(Gen0Budget.Choose(["run"], _ => null, 24 * GiB, serverGc: true));

    public static TheoryData<string, string?, string?> Environments => new()
    {
        // No setting of the operator's (an empty variable counts as none, and is replaced rather than shadowing ours).
        { "none", null, Expected() },
        { "empty", "", Expected() },
        { "switched off", null, null },
        { "the operator's own", "0x300000", "0x300000" },
        { "server GC", null, null },
    };

    [Theory]
    [MemberData(nameof(Environments))]
    public async Task Run_ReplacesItselfWithTheBudget_SameProcess_StillServes(string setting, string? operatorValue, string? expected)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var folder = new TempFolder();
        var file = folder.Write("gatehouse.yaml", """
            version: 1
            services:
              nowhere: { targets: ["http://127.0.0.1:9"] }
            routes:
              r: { path: /r, service: nowhere }
            """);
        var environment = new Dictionary<string, string> { [Gen0Budget.Switch] = setting == "switched off" ? "0" : "" };
        if (operatorValue is not null)
        {
            environment[Gen0Budget.RuntimeVariable] = operatorValue;
        }

        if (setting == "server GC")
        {
            environment["DOTNET_gcServer"] = "1";
        }

        await using var run = GatehouseProcess.Start(environment, "run", "--config", file, "--port", "0");
        var gateway = await run.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));

        // The process started is the one serving (replaced in place, not a child), with the variable set once, as chosen.
        var variables = (await File.ReadAllTextAsync($"/proc/{run.Id}/environ")).Split('\0')
            .Where(v => v.StartsWith(Gen0Budget.RuntimeVariable + "=", StringComparison.Ordinal))
            .Select(v => v[(Gen0Budget.RuntimeVariable.Length + 1)..])
            .ToList();
        Assert.Equal(expected is null ? [] : [expected], variables);

        using var client = new HttpClient();
        using var response = await client.GetAsync(gateway + "/no-such-route");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Single(Regex.Matches(run.StandardOutput, "Gatehouse is listening on"));

        // dotnet-counters and dotnet-trace attach by process id through the runtime's diagnostics socket: the runtime
        // after the exec listens on it (the one before left its file behind under the same name, which it cannot bind).
        var temp = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } tmp ? tmp : "/tmp";
        // A killed process leaves its socket file, and process ids are reused: only one file of this id may answer.
        var candidates = Directory.GetFiles(temp, $"dotnet-diagnostic-{run.Id}-*-socket");
        var answering = new List<string>();
        foreach (var socketPath in candidates)
        {
            using var diagnostics = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
            try
            {
                await diagnostics.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath));
                answering.Add(socketPath);
            }
            catch (System.Net.Sockets.SocketException)
            {
                // left behind by an earlier process with the same id
            }
        }

        Assert.True(answering.Count == 1, $"diagnostics sockets of process {run.Id} answering: {answering.Count} of {string.Join(", ", candidates)}");
    }

    /// <summary>What this machine's memory gives, as the runtime's variable spells it (the test runs where the gateway does).</summary>
    private static string? Expected() =>
        Gen0Budget.Choose(["run"], _ => null, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) is { } budget ? $"0x{budget:X}" : null;
}
