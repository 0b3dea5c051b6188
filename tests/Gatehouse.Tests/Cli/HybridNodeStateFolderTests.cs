using Gatehouse.Tests.Infrastructure;
using static Gatehouse.Tests.Cli.HybridNodeCommandTests;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// A hybrid data node's state folder (issue 21): what it holds is owner-only. Real
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
            new HashSet<string?> { "node-id", "instance", "consumers.json", "consumers.log", "usage.journal", "usage.acked", "quota-counts.db" },
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
}
