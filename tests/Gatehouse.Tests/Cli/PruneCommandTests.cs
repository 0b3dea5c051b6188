using Gatehouse.Management.Stores;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary><c>gatehouse prune</c>: drops a store's old history, and says plainly what is wrong with its options.</summary>
public sealed class PruneCommandTests
{
    [Fact]
    public async Task Prune_KeepsTheNewestRevisions_AndSaysWhatItRemoved()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "store.db");
        await using (var store = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System))
        {
            for (var n = 1; n <= 5; n++)
            {
                await store.CommitAsync([new ResourceChange("plan", "retail", $"{{\"title\":\"v{n}\"}}")], n - 1, "test", $"r{n}");
            }
        }

        var run = await GatehouseProcess.RunAsync("prune", "--store", path, "--keep-revisions", "2", "--audit-older-than", "365d");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal("Removed 3 revisions (3 history rows) and 0 audit entries; the store keeps revisions 4 to 5.", run.Stdout.Trim());
        await using var reopened = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System);
        Assert.Equal(4, await reopened.OldestRevisionAsync());
        Assert.Equal("{\"title\":\"v5\"}", (await reopened.ReadAsync()).Single().Body);
    }

    [Fact]
    public async Task Prune_WithNodesOlderThan_RemovesTheNodesGoneForGood()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "store.db");
        var then = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromDays(10));
        await using (var old = await ConfigStores.OpenAsync("sqlite:" + path, then))
        {
            await old.UpsertNodeAsync("scaled-in", 1, "{}");
        }

        await using (var store = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System))
        {
            await store.UpsertNodeAsync("reporting", 1, "{}");
        }

        var run = await GatehouseProcess.RunAsync("prune", "--store", path, "--keep-revisions", "2", "--nodes-older-than", "7d");

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal("Removed 0 revisions (0 history rows), 1 nodes not seen for 7 days and 0 audit entries; the store keeps every revision.", run.Stdout.Trim());
        await using var reopened = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System);
        Assert.Equal(["reporting"], (await reopened.ListNodesAsync()).Select(n => n.Id));
    }

    [Fact]
    public async Task Run_WithKeepRevisions_PrunesTheStoreItServes()
    {
        using var folder = new TempFolder();
        var path = Path.Combine(folder.Path, "store.db");
        await using (var store = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System))
        {
            for (var n = 1; n <= 5; n++)
            {
                await store.CommitAsync([new ResourceChange("plan", "retail", $"{{\"title\":\"v{n}\"}}")], n - 1, "test", $"r{n}");
            }
        }

        await using var run = GatehouseProcess.Start(new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "gha_prune-test" },
            "run", "--store", path, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--keep-revisions", "2");
        await run.WaitForOutputAsync(new System.Text.RegularExpressions.Regex("(Removed 3 revisions \\(3 history rows\\) and 0 audit entries; the store keeps revisions 4 to 5\\.)"), TimeSpan.FromSeconds(60));
        await using var reopened = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System);
        Assert.Equal(4, await reopened.OldestRevisionAsync());
    }

    [Theory]
    [InlineData("run", "--config", "gatehouse.yaml", "--keep-revisions", "2", "--keep-revisions prunes a store's history")]
    [InlineData("run", "--store", "s.db", "--audit-older-than", "30d", "--audit-older-than goes with --keep-revisions")]
    [InlineData("run", "--store", "s.db", "--nodes-older-than", "7d", "--nodes-older-than goes with --keep-revisions")]
    public async Task Run_RetentionWithoutAStore_IsOnePlainLine_AndExit2(string command, string a, string b, string c, string d, string expected)
    {
        using var folder = new TempFolder();
        var run = await GatehouseProcess.RunAsync(command, a, Path.Combine(folder.Path, b), c, d);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith(expected, run.Stderr.Trim(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--keep-revisions", "0", "--keep-revisions 0: keep at least 1 revision")]
    [InlineData("--audit-older-than", "soon", "--audit-older-than 'soon' is not a duration")]
    [InlineData("--nodes-older-than", "10m", "--nodes-older-than '10m' is not a duration of an hour or more")]
    public async Task AMistake_IsOnePlainLine_AndExit2(string option, string value, string expected)
    {
        using var folder = new TempFolder();
        string[] args = option == "--keep-revisions"
            ? ["prune", "--store", Path.Combine(folder.Path, "s.db"), option, value]
            : ["prune", "--store", Path.Combine(folder.Path, "s.db"), "--keep-revisions", "5", option, value];

        var run = await GatehouseProcess.RunAsync(args);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith(expected, run.Stderr.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);
    }
}
