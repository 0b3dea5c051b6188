using System.Diagnostics;
using System.Globalization;
using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Tests.Stores;

// A writer process killed with SIGKILL in the middle of a stream of commits.
public abstract partial class ConfigStoreTests
{
    private const int ResourcesPerRevision = 50;

    [Fact]
    public async Task WriterKilledMidStream_Reopen_LastRevisionIsCompleteAndNothingIsPartial()
    {
        var writer = Path.Combine(AppContext.BaseDirectory, "Gatehouse.Management.Tests.CrashWriter.dll");
        Assert.True(File.Exists(writer), $"{writer} was not built next to the tests.");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])[writer, Connection, ResourcesPerRevision.ToString(CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(argument);
        }

        long reported = 0;
        using (var process = Process.Start(start)!)
        {
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                while (reported < 20)
                {
                    var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                        ?? throw new InvalidOperationException($"The writer exited ({process.ExitCode}): {await errors}");
                    reported = long.Parse(line["committed ".Length..], CultureInfo.InvariantCulture);
                }
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }

        await using var store = await ConfigStores.OpenAsync(Connection, Clock);
        var current = await store.CurrentRevisionAsync();
        // Every reported commit survived (the writer may have committed more before the kill landed).
        Assert.True(current >= reported, $"revision {current} is older than the reported {reported}");
        // Read page by page: a writer that ran on for a while before the kill landed (a loaded machine reads its output
        // late) leaves more than one page of revisions and of audit entries (253 revisions, 12,650 entries in one run).
        var revisions = new List<long>();
        for (long? before = null; ;)
        {
            var page = await store.ListRevisionsAsync(before, limit: 1000);
            revisions.AddRange(page.Select(r => r.Number));
            if (page.Count < 1000)
            {
                break;
            }

            before = page.Min(r => r.Number);
        }

        Assert.Equal(Enumerable.Range(1, (int)current).Select(n => (long)n), revisions.Order());
        var audits = 0L;
        for (long? before = null; ;)
        {
            var page = await store.ListAuditAsync(before, limit: 10_000);
            audits += page.Count;
            if (page.Count < 10_000)
            {
                break;
            }

            before = page.Min(a => a.Id);
        }

        Assert.Equal(current * ResourcesPerRevision, audits);
        for (var revision = 1L; revision <= current; revision++)
        {
            var resources = await store.ReadAsync(revision);
            Assert.Equal(ResourcesPerRevision, resources.Count);
            Assert.All(resources, r =>
            {
                Assert.Equal(revision, r.Revision);
                Assert.StartsWith($$"""{"revision":{{revision}},""", r.Body, StringComparison.Ordinal);
            });
        }

        // And the store still takes commits after the crash.
        Assert.Equal(current + 1, (await store.CommitAsync([Set("plan", "after-crash", "1")], current, "test", "after")).Revision);
    }
}
