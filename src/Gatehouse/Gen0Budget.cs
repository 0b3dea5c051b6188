using System.Collections;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;

namespace Gatehouse.Cli;

/// <summary>
/// Runs the long-lived commands (<c>run</c>, <c>demo</c>) with a larger gen0 budget for the garbage collector than the
/// runtime picks on its own. A gateway allocates many small objects per request and keeps almost none, so each gen0
/// collection costs about the same (~1 ms here, mostly marking stacks and old-to-young references) however much was
/// allocated since the last: fewer, larger budgets are less CPU. On the 2-vCPU VM of docs/benchmarks.md the runtime
/// chose about 2 MB (a collection every ~100 compositions); 64 MB took 4–15% off the gateway's CPU per composition and
/// about 6% per proxied request, for about 60 MB more resident memory (round 8 of the compositions' results).
/// <para>
/// The runtime reads the budget only from the <c>DOTNET_GCgen0size</c> environment variable, at start (it has no
/// <c>runtimeconfig.json</c> name), so the process replaces itself with the same program, arguments and environment
/// plus that variable: <c>execve</c> keeps the process id, the open standard streams and the parent, so a supervisor,
/// a shell or a test sees one process. Hand-written because it is one system call; no package wraps it.
/// </para>
/// </summary>
internal static partial class Gen0Budget
{
    /// <summary>The runtime's variable; set by the operator, it wins (as does the older <c>COMPlus_</c> spelling).</summary>
    public const string RuntimeVariable = "DOTNET_GCgen0size";

    /// <summary><c>GATEHOUSE_GC_GEN0=0</c> leaves the runtime's own budget.</summary>
    public const string Switch = "GATEHOUSE_GC_GEN0";

    private const long MaxBudget = 64L << 20;
    private const long MinBudget = 16L << 20;

    /// <summary>
    /// The budget to run with, or null to leave the runtime's: only for <c>run</c> and <c>demo</c> (a one-shot command
    /// would pay a second start for nothing), never over an operator's own setting, and a 64th of the memory the
    /// process may use, at most 64 MB; below 16 MB (under 1 GiB of memory) it is not worth a second start. Not with
    /// server GC, which an operator chose: the variable sizes every heap's gen0, one heap per core. Not when a diagnostics
    /// tool started the process (<c>dotnet-trace collect -- gatehouse run</c> sets <c>DOTNET_DiagnosticPorts</c>): the
    /// tool expects one runtime to connect, not a second after the exec.
    /// </summary>
    public static long? Choose(IReadOnlyList<string> args, Func<string, string?> environment, long availableMemory, bool serverGc = false)
    {
        if (serverGc
            || args is not ["run" or "demo", ..]
            || environment(Switch) == "0"
            || !string.IsNullOrEmpty(environment(RuntimeVariable))
            || !string.IsNullOrEmpty(environment("COMPlus_GCgen0size"))
            || !string.IsNullOrEmpty(environment("DOTNET_DiagnosticPorts")))
        {
            return null;
        }

        var budget = Math.Min(MaxBudget, availableMemory / 64);
        return budget < MinBudget ? null : budget;
    }

    /// <summary>
    /// On Linux, when <see cref="Choose"/> gives a budget, replaces this process with itself and the budget set; returns
    /// only when it does not (nothing to do, or the exec failed, which leaves the runtime's budget and nothing else).
    /// Call it first, before anything starts a thread that matters or writes output.
    /// </summary>
    public static void Apply(string[] args)
    {
        // Under a debugger the exec would end the session the debugger started.
        if (!OperatingSystem.IsLinux()
            || Debugger.IsAttached
            || Choose(args, Environment.GetEnvironmentVariable, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, GCSettings.IsServerGC) is not { } budget)
        {
            return;
        }

        string[] argv;
        try
        {
            // The process's own argument vector, host included ("dotnet gatehouse.dll run ..." or "gatehouse run ...").
            argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No /proc (or not readable): the runtime's own budget, as on any other system.
            return;
        }

        var environment = new List<string?>();
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            // An empty one (which Choose counts as unset) is replaced: getenv would find it before ours.
            if ((string)variable.Key != RuntimeVariable)
            {
                environment.Add($"{variable.Key}={variable.Value}");
            }
        }

        environment.Add($"{RuntimeVariable}=0x{budget.ToString("X", CultureInfo.InvariantCulture)}");
        RemoveDiagnosticsSocket();
        Execve(ExecutablePath(), [.. argv, null], [.. environment, null]);
    }

    /// <summary>
    /// The file this process runs: the self-contained single-file <c>gatehouse</c>, its apphost, or <c>dotnet</c>. By
    /// its real path rather than <c>/proc/self/exe</c>, which would also work but names the process "exe" in ps, top and
    /// pgrep (the kernel takes the name from the path's last part). The link itself when the file has gone meanwhile
    /// (replaced by an upgrade): it still reaches the program that started.
    /// </summary>
    internal static string ExecutablePath()
    {
        try
        {
            var target = File.ResolveLinkTarget("/proc/self/exe", returnFinalTarget: false)?.FullName;
            return target is not null && File.Exists(target) ? target : "/proc/self/exe";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "/proc/self/exe";
        }
    }

    /// <summary>
    /// Removes this runtime's diagnostics socket (<c>dotnet-diagnostic-PID-START-socket</c> in the temp folder). The runtime
    /// after the exec has the same process id and start time, so the same name: with the old file still there it cannot
    /// listen, and <c>dotnet-counters</c> or <c>dotnet-trace</c> could not attach to the gateway by its process id.
    /// </summary>
    private static void RemoveDiagnosticsSocket()
    {
        try
        {
            var folder = Environment.GetEnvironmentVariable("TMPDIR") is { Length: > 0 } tmp ? tmp : "/tmp";
            foreach (var socket in Directory.EnumerateFiles(folder, $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
            {
                File.Delete(socket);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Attaching by process id will not work for this run; nothing else depends on it.
        }
    }

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Execve(string path, string?[] argv, string?[] envp);
}
