using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using static Gatehouse.Tests.Cli.HybridNodeCommandTests;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// A hybrid data node's state folder (issue 21): what it holds is owner-only, and one process at a time uses it. Real
/// processes, as the user runs them.
/// </summary>
[Trait("Issue", "21")]
public sealed class HybridNodeStateFolderTests
{
    /// <summary>
    /// Every file the node keeps (its id, instance, snapshots, consumer set and log, usage journal and acknowledged
    /// sequence, quota counts, lock) is 0600 and the folder it made 0700, whatever the umask: before, all but
    /// <c>node-id</c> were readable by every user of the host.
    /// </summary>
    [Fact]
    public async Task StateFolder_MadeByTheNode_IsOwnerOnly_AndSoIsEveryFileInIt()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix modes; Windows folders inherit their parent's ACL.
        }

        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        var nodeToken = await IssueNodeTokenAsync(admin);
        var key = await KeyedRouteAsync(admin, backend.Urls.First(), """{"include":[{"route":"hello"}],"limits":[{"requests":100,"per":"day"}]}""");
        var state = Path.Combine(folder.Path, "node");
        using var keyed = new HttpClient();
        keyed.DefaultRequestHeaders.Add("X-Api-Key", key);

        await using (var data = StartDataNode(folder, nodeApi, nodeToken, state, id: null))
        {
            var (gateway, _, _) = await DataUrlsAsync(data);
            await RunRoleCommandTests.UntilOkAsync(keyed, gateway + "/hello");
            // The usage went through the journal and the control plane acknowledged it.
            await UsageCountAsync(admin, c => c >= 1);
            await UntilAsync(() => File.Exists(Path.Combine(state, "usage.acked")), "the acknowledged sequence on disk");
            Assert.Equal(0, await data.StopAsync(TimeSpan.FromSeconds(30)));
        }

        var files = Directory.GetFiles(state).Select(Path.GetFileName).ToList();
        Assert.Superset(
            new HashSet<string?> { "node-id", "instance", "consumers.json", "consumers.log", "usage.journal", "usage.acked", "quota-counts.db", "lock", "lock.holder" },
            files.ToHashSet());
        Assert.Contains(files, f => f!.StartsWith("snapshot-", StringComparison.Ordinal));
        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var modes = files.ToDictionary(f => f!, f => (UnixFileMode)0);
        foreach (var file in files)
        {
            modes[file!] = File.GetUnixFileMode(Path.Combine(state, file!));
        }

        Assert.Equal(files.ToDictionary(f => f!, _ => owner), modes);
        Assert.Equal(owner | UnixFileMode.UserExecute, File.GetUnixFileMode(state));
    }

    /// <summary>
    /// A second process started on a state folder in use shares its node id and its files: it refuses to start, in one
    /// line that names the folder and the process holding it, and touches nothing there. Once the first is gone, even
    /// killed (SIGKILL: the lock goes with the process), a node starts on the folder as the same node.
    /// </summary>
    [Fact]
    public async Task SecondNode_OnAStateFolderInUse_RefusesToStartInOneLine_AndOneStartsOnceTheFirstIsKilled()
    {
        using var folder = new TempFolder();
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            folder.Write("signing.pub.pem", key.ExportSubjectPublicKeyInfoPem());
        }

        var state = Path.Combine(folder.Path, "node");
        var environment = new Dictionary<string, string> { ["GATEHOUSE_NODE_TOKEN"] = "ghn_state-folder-test" };
        // No control plane answers: a node starts and serves nothing until one does, which is all this needs.
        string[] args = ["run", "--role", "data", "--control-plane", "https://127.0.0.1:1", "--control-plane-key", Path.Combine(folder.Path, "signing.pub.pem"),
            "--state-dir", state, "--port", "0", "--admin-url", "http://127.0.0.1:0"];

        await using var first = GatehouseProcess.Start(environment, args);
        await DataUrlsAsync(first);
        var id = DataId(first);
        var nodeIdFile = Path.Combine(state, "node-id");
        var written = File.GetLastWriteTimeUtc(nodeIdFile);

        var (code, stdout, stderr) = await GatehouseProcess.RunAsync(environment, args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Matches(
            new Regex($"^--state-dir {Regex.Escape(state)} is in use by another Gatehouse process \\(pid {first.Id} on {Regex.Escape(Environment.MachineName)}, started \\S+Z\\): two nodes on one folder would share its node id and overwrite each other's files\\. Stop that one, or give this one a folder of its own\\.$"),
            stderr.Trim());
        Assert.Equal((id, written), ((await File.ReadAllTextAsync(nodeIdFile)).Trim(), File.GetLastWriteTimeUtc(nodeIdFile)));

        first.Signal(9);
        await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await using var next = GatehouseProcess.Start(environment, args);
        var (_, health, _) = await DataUrlsAsync(next);
        Assert.Equal(id, DataId(next));
        using var plain = new HttpClient();
        using var live = await plain.GetAsync(health + "/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Contains($"pid {next.Id} on ", await File.ReadAllTextAsync(Path.Combine(state, "lock.holder")), StringComparison.Ordinal);
    }
}
