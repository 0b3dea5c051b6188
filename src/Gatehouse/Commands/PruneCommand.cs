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
        var audit = new Option<string?>("--audit-older-than") { Description = "Also drop audit entries older than this, e.g. 365d (default: keep every entry)." };
        var command = new Command("prune", "Drop configuration history older than the newest revisions (and old audit entries) from a store.") { store, keep, audit };
        command.SetAction(async (parse, ct) =>
        {
            var keepRevisions = parse.GetValue(keep);
            if (keepRevisions < 1)
            {
                Console.Error.WriteLine($"--keep-revisions {keepRevisions}: keep at least 1 revision (the current one).");
                return 2;
            }

            DateTimeOffset? auditBefore = null;
            if (parse.GetValue(audit) is { } text)
            {
                if (!Units.TryParseDuration(text, out var age) || age <= TimeSpan.Zero)
                {
                    Console.Error.WriteLine($"--audit-older-than '{text}' is not a duration; write e.g. 365d or 90d.");
                    return 2;
                }

                auditBefore = DateTimeOffset.UtcNow - age;
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
                var result = await opened.PruneAsync(keepRevisions, auditBefore, ct).ConfigureAwait(false);
                var kept = result.Oldest <= 1 ? "every revision" : $"revisions {result.Oldest} to {result.Current}";
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Removed {result.Revisions} revisions ({result.Resources} history rows) and {result.Audit} audit entries; the store keeps {kept}."));
                return 0;
            }
        });
        return command;
    }
}
