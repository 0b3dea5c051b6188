using Gatehouse.Management.Nodes;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Tests.Stores;

// One node id, one process (issue 19: a cluster's totals are sums over nodes, so two processes under one id must not
// overwrite each other's rows), on both databases.
public abstract partial class ConfigStoreTests
{
    private static readonly TimeSpan Live = TimeSpan.FromSeconds(45);

    [Fact]
    [Trait("Issue", "19")]
    public async Task ClaimNode_HeldByALiveProcess_IsRefused_UntilItIsStaleOrWasWatchedMissingABeat()
    {
        Assert.Null(await Store.ClaimNodeAsync("gw-1", "aaaa", 1, """{"host":"a"}""", Clock.GetUtcNow() - Live));
        var seen = Clock.GetUtcNow();
        Clock.Advance(TimeSpan.FromSeconds(15));
        // Its own heartbeat goes on; another process under the same id is refused and shown who holds it.
        Assert.Null(await Store.ClaimNodeAsync("gw-1", "aaaa", 2, """{"host":"a"}""", Clock.GetUtcNow() - Live));
        var holder = await Store.ClaimNodeAsync("gw-1", "bbbb", 2, """{"host":"b"}""", Clock.GetUtcNow() - Live);
        Assert.Equal(("aaaa", """{"host":"a"}"""), (holder!.Instance, holder.Info));
        // A take-over of a report older than the holder's last one (it beat meanwhile) is refused too.
        Assert.NotNull(await Store.ClaimNodeAsync("gw-1", "bbbb", 2, "{}", Clock.GetUtcNow() - Live, seen));

        await Store.MarkNodeClashAsync("gw-1", """{"instance":"bbbb"}""");
        Assert.Equal("""{"instance":"bbbb"}""", (await Store.ListNodesAsync()).Single().Clash);

        // The holder missed a beat the newcomer watched for: the id changes hands, and the clash note goes with it.
        Assert.Null(await Store.ClaimNodeAsync("gw-1", "bbbb", 3, """{"host":"b"}""", Clock.GetUtcNow() - Live, Clock.GetUtcNow()));
        var row = (await Store.ListNodesAsync()).Single();
        Assert.Equal(("bbbb", 3L, (string?)null), (row.Instance, row.Revision, row.Clash));

        // Stale (no report for 45 s): anyone's.
        Clock.Advance(TimeSpan.FromSeconds(46));
        Assert.Null(await Store.ClaimNodeAsync("gw-1", "cccc", 4, "{}", Clock.GetUtcNow() - Live));
        Assert.Equal("cccc", (await Store.ListNodesAsync()).Single().Instance);
    }

    [Fact]
    [Trait("Issue", "19")]
    public async Task ClaimNode_TwoProcessesAtOnce_OneWins()
    {
        var other = await OpenAsync();
        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            (i % 2 == 0 ? Store : other).ClaimNodeAsync("gw-1", $"instance-{i}", 1, "{}", Clock.GetUtcNow() - Live)));

        Assert.Single(claims, c => c is null);
        var winner = (await Store.ListNodesAsync()).Single().Instance;
        Assert.All(claims.Where(c => c is not null), c => Assert.Equal(winner, c!.Instance));
    }

    [Fact]
    [Trait("Issue", "19")]
    public async Task UsageWrite_ByAProcessThatDoesNotHoldItsNodeId_WritesNothing()
    {
        var sql = (SqlConfigStore)Store;
        var store = (IUsageStore)Store;
        Assert.Null(await Store.ClaimNodeAsync("gw-1", "aaaa", 1, "{}", Clock.GetUtcNow() - Live));
        Assert.True(await sql.WriteAsOwnerAsync("gw-1", "aaaa", [Row("gw-1", 10)]));
        Assert.True(await sql.WriteAiAsOwnerAsync("gw-1", "aaaa", [AiRow("gw-1", "shop", "gpt-4o", 1, 10, 10, 100)]));

        // A second process under gw-1: its whole values would replace the holder's.
        Assert.False(await sql.WriteAsOwnerAsync("gw-1", "bbbb", [Row("gw-1", 3)]));
        Assert.False(await sql.WriteAiAsOwnerAsync("gw-1", "bbbb", [AiRow("gw-1", "shop", "gpt-4o", 1, 1, 1, 1)]));
        // A hybrid node's upload under a held id is refused the same way, and its sequence is not used up.
        Assert.Null(await sql.ApplyNodeUsageAsync("gw-1", "bbbb", 1, [Row("gw-1", 4)], null, CancellationToken.None));
        Assert.True(await sql.ApplyNodeUsageAsync("gw-1", "aaaa", 1, [Row("gw-1", 11)], null, CancellationToken.None));

        var rows = await store.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Minute, 0, long.MaxValue, AllApplications: false));
        Assert.Equal(11, rows.Single().Count);
        var ai = await store.AggregateAiUsageAsync(new AiUsageQuery(UsageGranularity.Minute, 0, long.MaxValue), ["node"], byBucket: false);
        Assert.Equal(10, ai.Single().PromptTokens);
    }

    [Fact]
    [Trait("Issue", "19")]
    public async Task NodeLease_HolderElsewhereThatStillReports_IsRefused_OneThatCrashed_IsTakenOver()
    {
        // Another host's process holds gw-1 and reports every 15 s.
        Assert.Null(await Store.ClaimNodeAsync("gw-1", "elsewhere", 1, """{"host":"another-host","pid":7}""", Clock.GetUtcNow() - Live));
        var waits = new List<string>();
        var starting = NodeLease.AcquireAsync(Store, "gw-1", 1, time: Clock, waiting: waits.Add);
        await WaitUntilAsync(() => waits.Count == 1);
        Assert.Contains("node id gw-1 was reported 0 s ago by host another-host, pid 7; waiting 20 s", waits[0], StringComparison.Ordinal);
        Clock.Advance(TimeSpan.FromSeconds(15));
        Assert.Null(await Store.ClaimNodeAsync("gw-1", "elsewhere", 1, """{"host":"another-host","pid":7}""", Clock.GetUtcNow() - Live));
        Clock.Advance(TimeSpan.FromSeconds(5));
        var refused = await Assert.ThrowsAsync<NodeIdInUseException>(() => starting);
        Assert.Equal(
            "Node id 'gw-1' is in use by another running gateway node (host another-host, pid 7, last seen 5 s ago), and two nodes under one id would overwrite each other's usage counts. Give this node an id of its own with --node-id (or stop the other one first).",
            refused.Message);

        // It crashed: no report during the next start's watch, which then takes the id.
        var restarting = NodeLease.AcquireAsync(Store, "gw-1", 1, time: Clock, waiting: waits.Add);
        await WaitUntilAsync(() => waits.Count == 2);
        Clock.Advance(TimeSpan.FromSeconds(20));
        var lease = await restarting;
        Assert.Equal(lease.Instance, (await Store.ListNodesAsync()).Single().Instance);
    }

    [Fact]
    [Trait("Issue", "19")]
    public async Task NodeLease_HolderOnThisHostWhoseProcessEnded_IsTakenOverAtOnce_ARunningOne_IsRefusedAtOnce()
    {
        var first = await NodeLease.AcquireAsync(Store, "gw-1", 1, time: Clock);
        // The same process restarted in place (its pid is ours now, so the holder's has ended): no wait.
        var again = await NodeLease.AcquireAsync(Store, "gw-1", 1, time: Clock, waiting: _ => Assert.Fail("no wait for a holder known to be gone"));
        Assert.NotEqual(first.Instance, again.Instance);

        // A process of this host that runs (and started before the holder's report said it did) holds the id: refused at once.
        var info = System.Text.Json.Nodes.JsonNode.Parse(again.Info)!.AsObject();
        var running = System.Diagnostics.Process.GetProcesses().First(p => p.Id != Environment.ProcessId && SafeStart(p) is { } s && s < DateTime.Now.AddSeconds(-1));
        info["pid"] = running.Id;
        info["startedAt"] = DateTimeOffset.UtcNow;
        Clock.Advance(TimeSpan.FromSeconds(46));
        Assert.Null(await Store.ClaimNodeAsync("gw-1", "sibling", 1, info.ToJsonString(), Clock.GetUtcNow() - Live));
        var refused = await Assert.ThrowsAsync<NodeIdInUseException>(() => NodeLease.AcquireAsync(Store, "gw-1", 1, time: Clock, waiting: _ => Assert.Fail("no wait for a holder known to run")));
        Assert.Contains($"pid {running.Id}", refused.Message, StringComparison.Ordinal);

        static DateTime? SafeStart(System.Diagnostics.Process p)
        {
            try
            {
                return p.StartTime;
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                return null;
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }
}
