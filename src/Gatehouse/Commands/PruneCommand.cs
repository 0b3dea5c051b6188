using System.CommandLine;
using System.Globalization;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Loading;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse prune --store CONNECTION --keep-revisions N [--audit-older-than DURATION] [--nodes-older-than DURATION]</c>:
/// drops the configuration history older than the newest N revisions, audit entries older than the duration, and node
/// rows not seen for the other. For a cron job or a
/// Kubernetes CronJob beside the control plane; the store stays in use while it runs (one short write transaction).
/// </summary>
internal static class PruneCommand
{
    public static Command Create()
    {
        var store = new Option<string>("--store", "-s")
        {
            Description = "The store: a SQLite file (sqlite:PATH or a path) or postgres://USER:PASSWORD@HOST:PORT/DB.",
            Required = true,
        };
        var keep = new Option<int>("--keep-revisions")
        {
            Description = "How many of the newest revisions stay readable, diffable and rollback targets (at least 1; the current one always stays).",
            Required = true,
        };
        var audit = new Option<string?>("--audit-older-than") { Description = "Also drop audit entries (the configuration's and the consumer change log's, with deleted applications' rows) older than this, e.g. 365d (default: keep every entry)." };
        var nodes = NodesOption();
        var command = new Command("prune", "Drop configuration history older than the newest revisions (and old audit entries and nodes gone for good) from a store.") { store, keep, audit, nodes };
        command.SetAction(async (parse, ct) =>
        {
            if (ReadRetention(parse.GetValue(keep), parse.GetValue(audit), parse.GetValue(nodes)) is not { } retention)
            {
                return 2;
            }

            IConfigStore opened;
            try
            {
                opened = await ConfigStores.OpenAsync(parse.GetValue(store)!, TimeProvider.System, ct).ConfigureAwait(false);
            }
            catch (ConfigStoreException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }

            await using (opened.ConfigureAwait(false))
            {
                var result = await opened.PruneAsync(retention.KeepRevisions, DateTimeOffset.UtcNow - retention.AuditAge, ct).ConfigureAwait(false);
                var gone = retention.NodeAge is { } age ? await opened.DeleteNodesSeenBeforeAsync(DateTimeOffset.UtcNow - age, ct).ConfigureAwait(false) : 0;
                Console.Out.WriteLine(Describe(result, gone, retention.NodeAge));
                return 0;
            }
        });
        return command;
    }

    /// <summary>
    /// How much history a store keeps: the newest revisions, audit entries younger than an age (null: all), and nodes
    /// seen within an age (null: every node until removed by hand).
    /// </summary>
    internal sealed record Retention(int KeepRevisions, TimeSpan? AuditAge, TimeSpan? NodeAge = null);

    /// <summary><c>--nodes-older-than</c>, for <c>prune</c> and <c>run</c>.</summary>
    internal static Option<string?> NodesOption() =>
        new("--nodes-older-than") { Description = "Also remove the nodes not seen for this long (scaled in, renamed, replaced), e.g. 7d; GET /admin/nodes lists them as stale meanwhile (default: keep them until DELETE /admin/nodes/{id})." };

    /// <summary>The options read and checked; null (with one plain line said) when one is wrong.</summary>
    internal static Retention? ReadRetention(int keepRevisions, string? auditOlderThan, string? nodesOlderThan = null)
    {
        if (keepRevisions < 1)
        {
            Console.Error.WriteLine($"--keep-revisions {keepRevisions}: keep at least 1 revision (the current one).");
            return null;
        }

        TimeSpan? age = null;
        if (auditOlderThan is { } text)
        {
            if (!Units.TryParseDuration(text, out var parsed) || parsed <= TimeSpan.Zero)
            {
                Console.Error.WriteLine($"--audit-older-than '{text}' is not a duration; write e.g. 365d or 90d.");
                return null;
            }

            age = parsed;
        }

        TimeSpan? nodeAge = null;
        if (nodesOlderThan is { } nodes)
        {
            // Far more than a heartbeat: a node away for a restart or a network blip must not lose its row.
            if (!Units.TryParseDuration(nodes, out var parsed) || parsed < TimeSpan.FromHours(1))
            {
                Console.Error.WriteLine($"--nodes-older-than '{nodes}' is not a duration of an hour or more; write e.g. 7d.");
                return null;
            }

            nodeAge = parsed;
        }

        return new Retention(keepRevisions, age, nodeAge);
    }

    /// <summary>
    /// <c>run --keep-revisions</c>: prunes at start and then every hour until <paramref name="stop"/>, saying so when it
    /// removed something; a store that fails is reported and tried again at the next hour.
    /// </summary>
    internal static async Task EveryHourAsync(IConfigStore store, Retention retention, TimeProvider time, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var result = await store.PruneAsync(retention.KeepRevisions, time.GetUtcNow() - retention.AuditAge, stop).ConfigureAwait(false);
                var gone = retention.NodeAge is { } age ? await store.DeleteNodesSeenBeforeAsync(time.GetUtcNow() - age, stop).ConfigureAwait(false) : 0;
                if (result.Revisions > 0 || result.Audit > 0 || result.ConsumerChanges > 0 || gone > 0)
                {
                    Console.Out.WriteLine(Describe(result, gone, retention.NodeAge));
                }

                await Task.Delay(TimeSpan.FromHours(1), time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ConfigStoreException or System.Data.Common.DbException or IOException or TimeoutException)
            {
                Console.Error.WriteLine($"Pruning the store's history failed ({e.Message}); trying again in an hour.");
                try
                {
                    await Task.Delay(TimeSpan.FromHours(1), time, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private static string Describe(PruneResult result, int nodes = 0, TimeSpan? nodeAge = null)
    {
        var kept = result.Oldest <= 1 ? "every revision" : $"revisions {result.Oldest} to {result.Current}";
        var consumers = result.ConsumerChanges > 0 ? string.Create(CultureInfo.InvariantCulture, $", {result.ConsumerChanges} consumer changes ({result.Tombstones} deleted applications' rows)") : "";
        var gone = nodeAge is { } age ? string.Create(CultureInfo.InvariantCulture, $", {nodes} nodes not seen for {age.TotalDays:0.##} days") : "";
        return string.Create(CultureInfo.InvariantCulture, $"Removed {result.Revisions} revisions ({result.Resources} history rows){consumers}{gone} and {result.Audit} audit entries; the store keeps {kept}.");
    }
}
