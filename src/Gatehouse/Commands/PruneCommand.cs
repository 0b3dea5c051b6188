using System.CommandLine;
using System.Globalization;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Loading;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse prune --store CONNECTION --keep-revisions N [--audit-older-than DURATION]</c>: drops the configuration
/// history older than the newest N revisions, and audit entries older than the duration. For a cron job or a
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
        var command = new Command("prune", "Drop configuration history older than the newest revisions (and old audit entries) from a store.") { store, keep, audit };
        command.SetAction(async (parse, ct) =>
        {
            if (ReadRetention(parse.GetValue(keep), parse.GetValue(audit)) is not { } retention)
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
                Console.Out.WriteLine(Describe(await opened.PruneAsync(retention.KeepRevisions, DateTimeOffset.UtcNow - retention.AuditAge, ct).ConfigureAwait(false)));
                return 0;
            }
        });
        return command;
    }

    /// <summary>How much history a store keeps: the newest revisions, and audit entries younger than an age (null: all).</summary>
    internal sealed record Retention(int KeepRevisions, TimeSpan? AuditAge);

    /// <summary>The options read and checked; null (with one plain line said) when one is wrong.</summary>
    internal static Retention? ReadRetention(int keepRevisions, string? auditOlderThan)
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

        return new Retention(keepRevisions, age);
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
                if (result.Revisions > 0 || result.Audit > 0 || result.ConsumerChanges > 0)
                {
                    Console.Out.WriteLine(Describe(result));
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

    private static string Describe(PruneResult result)
    {
        var kept = result.Oldest <= 1 ? "every revision" : $"revisions {result.Oldest} to {result.Current}";
        var consumers = result.ConsumerChanges > 0 ? string.Create(CultureInfo.InvariantCulture, $", {result.ConsumerChanges} consumer changes ({result.Tombstones} deleted applications' rows)") : "";
        return string.Create(CultureInfo.InvariantCulture, $"Removed {result.Revisions} revisions ({result.Resources} history rows){consumers} and {result.Audit} audit entries; the store keeps {kept}.");
    }
}
