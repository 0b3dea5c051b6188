using System.Data.Common;
using System.Text.Json;

namespace Gatehouse.Management.Stores;

// Resources are temporal rows: a row belongs to revision R when valid_from <= R and (valid_to IS NULL
// or valid_to > R). A commit closes the rows it replaces (valid_to = new revision) and inserts the new
// ones, so a revision costs as many rows as it changes, not as many as it holds.
internal abstract partial class SqlConfigStore
{
    private const string AsOf = "valid_from <= @revision AND (valid_to IS NULL OR valid_to > @revision)";

    public async Task<long> CurrentRevisionAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await CurrentAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<StoredResource>> ReadAsync(long? revision = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var current = await CurrentAsync(connection, null, cancellationToken).ConfigureAwait(false);
        var at = revision ?? current;
        CheckRevision(at, current, nameof(revision));
        if (revision is not null)
        {
            await CheckNotPrunedAsync(connection, null, at, cancellationToken).ConfigureAwait(false);
        }

        // "As of" the number read above: rows committed meanwhile belong to later revisions, so the
        // result is exactly that revision even while others commit.
        return await ReadAtAsync(connection, null, at, cancellationToken).ConfigureAwait(false);
    }

    public async Task<StoredResource?> GetAsync(string kind, string name, long? revision = null, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var sql = revision is null
            ? "SELECT body, valid_from FROM resources WHERE kind = @kind AND name = @name AND valid_to IS NULL"
            : $"SELECT body, valid_from FROM resources WHERE kind = @kind AND name = @name AND {AsOf}";
        await using var command = Command(connection, null, sql, ("kind", kind), ("name", name), ("revision", revision ?? 0L));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new StoredResource(kind, name, reader.GetString(0), reader.GetInt64(1))
            : null;
    }

    public async Task<CommitResult> CommitAsync(
        IReadOnlyList<ResourceChange> changes, long expectedRevision, string actor, string summary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(summary);
        Validate(changes);

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var current = await CurrentAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if (current != expectedRevision)
        {
            return CommitResult.Conflicted(current);
        }

        return await ApplyAsync(connection, transaction, changes, current, actor, summary, action: null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<CommitResult> RollbackAsync(long toRevision, long expectedRevision, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(actor);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var current = await CurrentAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if (current != expectedRevision)
        {
            return CommitResult.Conflicted(current);
        }

        CheckRevision(toRevision, current, nameof(toRevision));
        await CheckNotPrunedAsync(connection, transaction, toRevision, cancellationToken).ConfigureAwait(false);
        var target = await ReadAtAsync(connection, transaction, toRevision, cancellationToken).ConfigureAwait(false);
        var now = await ReadAtAsync(connection, transaction, current, cancellationToken).ConfigureAwait(false);
        var keep = target.Select(r => (r.Kind, r.Name)).ToHashSet();
        var changes = target.Select(r => new ResourceChange(r.Kind, r.Name, r.Body))
            .Concat(now.Where(r => !keep.Contains((r.Kind, r.Name))).Select(r => new ResourceChange(r.Kind, r.Name, null)))
            .ToList();
        return await ApplyAsync(
            connection, transaction, changes, current, actor, $"rollback to revision {toRevision}", action: "rollback", cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RevisionInfo>> ListRevisionsAsync(long? before = null, int limit = 50, CancellationToken cancellationToken = default)
    {
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(
            connection,
            null,
            "SELECT number, created_at, actor, summary FROM revisions WHERE number < @before ORDER BY number DESC LIMIT @limit",
            ("before", before ?? long.MaxValue),
            ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<RevisionInfo>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new RevisionInfo(reader.GetInt64(0), ReadTime(reader, 1), reader.GetString(2), reader.GetString(3)));
        }

        return result;
    }

    public async Task<IReadOnlyList<ResourceDiff>> DiffAsync(long from, long to, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var current = await CurrentAsync(connection, null, cancellationToken).ConfigureAwait(false);
        CheckRevision(from, current, nameof(from));
        CheckRevision(to, current, nameof(to));
        await CheckNotPrunedAsync(connection, null, from, cancellationToken).ConfigureAwait(false);
        await CheckNotPrunedAsync(connection, null, to, cancellationToken).ConfigureAwait(false);
        var (low, high) = from <= to ? (from, to) : (to, from);

        // Only rows that began or ended between the two revisions can differ; everything else is shared.
        await using var command = Command(
            connection,
            null,
            """
            SELECT kind, name, body, valid_from, valid_to FROM resources
            WHERE (valid_from > @low AND valid_from <= @high) OR (valid_to > @low AND valid_to <= @high)
            """,
            ("low", low),
            ("high", high));
        var pairs = new Dictionary<(string Kind, string Name), (string? Before, string? After)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var key = (reader.GetString(0), reader.GetString(1));
                var body = reader.GetString(2);
                var validFrom = reader.GetInt64(3);
                long? validTo = reader.IsDBNull(4) ? null : reader.GetInt64(4);
                pairs.TryGetValue(key, out var pair);
                if (Contains(validFrom, validTo, from))
                {
                    pair.Before = body;
                }

                if (Contains(validFrom, validTo, to))
                {
                    pair.After = body;
                }

                pairs[key] = pair;
            }
        }

        return pairs
            .Where(p => p.Value.Before != p.Value.After)
            .OrderBy(p => p.Key.Kind, StringComparer.Ordinal).ThenBy(p => p.Key.Name, StringComparer.Ordinal)
            .Select(p => new ResourceDiff(
                p.Key.Kind,
                p.Key.Name,
                p.Value.Before is null ? ResourceDiffKind.Created : p.Value.After is null ? ResourceDiffKind.Deleted : ResourceDiffKind.Updated,
                p.Value.Before,
                p.Value.After))
            .ToList();

        static bool Contains(long validFrom, long? validTo, long revision) => validFrom <= revision && (validTo is null || validTo > revision);
    }

    /// <summary>Writes the changes as revision current + 1 and commits, or rolls back when none changes anything.</summary>
    private async Task<CommitResult> ApplyAsync(
        DbConnection connection,
        DbTransaction transaction,
        IReadOnlyList<ResourceChange> changes,
        long current,
        string actor,
        string summary,
        string? action,
        CancellationToken cancellationToken)
    {
        var next = current + 1;
        var now = TimeValue(_clock.GetUtcNow());
        var applied = 0;
        foreach (var change in changes)
        {
            var before = (string?)await ScalarAsync(
                connection,
                transaction,
                "SELECT body FROM resources WHERE kind = @kind AND name = @name AND valid_to IS NULL",
                cancellationToken,
                ("kind", change.Kind),
                ("name", change.Name)).ConfigureAwait(false);
            if (string.Equals(before, change.Body, StringComparison.Ordinal))
            {
                continue;
            }

            if (before is not null)
            {
                await ExecuteAsync(
                    connection,
                    transaction,
                    "UPDATE resources SET valid_to = @next WHERE kind = @kind AND name = @name AND valid_to IS NULL",
                    cancellationToken,
                    ("next", next),
                    ("kind", change.Kind),
                    ("name", change.Name)).ConfigureAwait(false);
            }

            if (change.Body is not null)
            {
                await ExecuteAsync(
                    connection,
                    transaction,
                    "INSERT INTO resources (kind, name, body, valid_from) VALUES (@kind, @name, @body, @next)",
                    cancellationToken,
                    ("kind", change.Kind),
                    ("name", change.Name),
                    ("body", change.Body),
                    ("next", next)).ConfigureAwait(false);
            }

            await ExecuteAsync(
                connection,
                transaction,
                """
                INSERT INTO audit (at, actor, action, kind, name, revision, before, after)
                VALUES (@at, @actor, @action, @kind, @name, @revision, @before, @after)
                """,
                cancellationToken,
                ("at", now),
                ("actor", actor),
                ("action", action ?? (before is null ? "create" : change.Body is null ? "delete" : "update")),
                ("kind", change.Kind),
                ("name", change.Name),
                ("revision", next),
                ("before", before),
                ("after", change.Body)).ConfigureAwait(false);
            applied++;
        }

        if (applied == 0)
        {
            return CommitResult.Unchanged(current);
        }

        await ExecuteAsync(
            connection,
            transaction,
            "INSERT INTO revisions (number, created_at, actor, summary) VALUES (@number, @at, @actor, @summary)",
            cancellationToken,
            ("number", next),
            ("at", now),
            ("actor", actor),
            ("summary", summary)).ConfigureAwait(false);
        await RevisionCommittingAsync(connection, transaction, next, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return CommitResult.Committed(next);
    }

    private static async Task<long> CurrentAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        ToLong(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(number), 0) FROM revisions", cancellationToken).ConfigureAwait(false));

    private static async Task<List<StoredResource>> ReadAtAsync(
        DbConnection connection, DbTransaction? transaction, long revision, CancellationToken cancellationToken)
    {
        await using var command = Command(
            connection, transaction, $"SELECT kind, name, body, valid_from FROM resources WHERE {AsOf}", ("revision", revision));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var result = new List<StoredResource>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new StoredResource(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }

        // Sorted here, not in SQL: the two databases collate text differently, callers get ordinal order from both.
        result.Sort((a, b) =>
        {
            var byKind = string.CompareOrdinal(a.Kind, b.Kind);
            return byKind != 0 ? byKind : string.CompareOrdinal(a.Name, b.Name);
        });
        return result;
    }

    /// <summary>The setting that holds the oldest revision the store can still read (0 until a prune).</summary>
    internal const string OldestRevisionSetting = "revisions.oldest";

    public async Task<long> OldestRevisionAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await OldestAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PruneResult> PruneAsync(int keepRevisions, DateTimeOffset? auditBefore, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keepRevisions, 1);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var current = await CurrentAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        var oldest = Math.Max(await OldestAsync(connection, transaction, cancellationToken).ConfigureAwait(false), Math.Max(0, current - keepRevisions + 1));
        // A row closed at or before the oldest kept revision belongs to no kept revision (rows belong to R when
        // valid_from <= R < valid_to); the rows of kept revisions, however old their valid_from, all stay. Revision 0
        // (the empty store) stays readable: it needs no row.
        var rows = await ExecuteAsync(connection, transaction, "DELETE FROM resources WHERE valid_to IS NOT NULL AND valid_to <= @oldest", cancellationToken, ("oldest", oldest)).ConfigureAwait(false);
        var revisions = await ExecuteAsync(connection, transaction, "DELETE FROM revisions WHERE number < @oldest", cancellationToken, ("oldest", oldest)).ConfigureAwait(false);
        var audit = auditBefore is { } before
            ? await ExecuteAsync(connection, transaction, "DELETE FROM audit WHERE at < @before", cancellationToken, ("before", TimeValue(before))).ConfigureAwait(false)
            : 0;
        var (consumerChanges, tombstones) = auditBefore is { } consumersBefore
            ? await PruneConsumerChangesAsync(connection, transaction, consumersBefore, cancellationToken).ConfigureAwait(false)
            : (0, 0);
        await ExecuteAsync(
            connection,
            transaction,
            "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            cancellationToken,
            ("key", OldestRevisionSetting),
            ("value", oldest.ToString(System.Globalization.CultureInfo.InvariantCulture))).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new PruneResult(current, oldest, revisions, rows, audit) { ConsumerChanges = consumerChanges, Tombstones = tombstones };
    }

    /// <summary>The setting that holds the newest consumer change whose tombstone was pruned (0 until one is).</summary>
    internal const string ConsumerHorizonSetting = "consumers.horizon";

    // The consumer change log's entries older than the cut, and the tombstones of applications deleted by them. The
    // newest change always stays: the next change number is counted from it. A reader that last saw a change before the
    // newest pruned tombstone cannot learn of that deletion from the log any more: the horizon tells it to read the whole
    // set instead (ConsumerHorizonAsync).
    private async Task<(int Changes, int Tombstones)> PruneConsumerChangesAsync(DbConnection connection, DbTransaction transaction, DateTimeOffset before, CancellationToken cancellationToken)
    {
        var cut = ToLong(await ScalarAsync(connection, transaction,
            "SELECT COALESCE(MAX(seq), 0) FROM consumer_changes WHERE at < @before AND seq < (SELECT MAX(seq) FROM consumer_changes)",
            cancellationToken, ("before", TimeValue(before))).ConfigureAwait(false));
        if (cut == 0)
        {
            return (0, 0);
        }

        var horizon = ToLong(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(seq), 0) FROM consumer_applications WHERE deleted = 1 AND seq <= @cut",
            cancellationToken, ("cut", cut)).ConfigureAwait(false));
        var changes = await ExecuteAsync(connection, transaction, "DELETE FROM consumer_changes WHERE seq <= @cut", cancellationToken, ("cut", cut)).ConfigureAwait(false);
        var tombstones = await ExecuteAsync(connection, transaction, "DELETE FROM consumer_applications WHERE deleted = 1 AND seq <= @cut", cancellationToken, ("cut", cut)).ConfigureAwait(false);
        if (horizon > await HorizonAsync(connection, transaction, cancellationToken).ConfigureAwait(false))
        {
            await ExecuteAsync(
                connection,
                transaction,
                "INSERT INTO settings (key, value) VALUES (@key, @value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                cancellationToken,
                ("key", ConsumerHorizonSetting),
                ("value", horizon.ToString(System.Globalization.CultureInfo.InvariantCulture))).ConfigureAwait(false);
        }

        return (changes, tombstones);
    }

    public async Task<long> ConsumerHorizonAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await HorizonAsync(connection, null, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long> HorizonAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        await ScalarAsync(connection, transaction, "SELECT value FROM settings WHERE key = @key", cancellationToken, ("key", ConsumerHorizonSetting)).ConfigureAwait(false) is string text
            ? long.Parse(text, System.Globalization.CultureInfo.InvariantCulture)
            : 0;

    private static async Task<long> OldestAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken) =>
        await ScalarAsync(connection, transaction, "SELECT value FROM settings WHERE key = @key", cancellationToken, ("key", OldestRevisionSetting)).ConfigureAwait(false) is string text
            ? long.Parse(text, System.Globalization.CultureInfo.InvariantCulture)
            : 0;

    private static async Task CheckNotPrunedAsync(DbConnection connection, DbTransaction? transaction, long revision, CancellationToken cancellationToken)
    {
        if (revision == 0)
        {
            return;
        }

        var oldest = await OldestAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        if (revision < oldest)
        {
            throw new RevisionPrunedException(revision, oldest);
        }
    }

    private static void CheckRevision(long revision, long current, string parameter)
    {
        if (revision < 0 || revision > current)
        {
            throw new ArgumentOutOfRangeException(parameter, revision, $"Revision {revision} does not exist; the store has revisions 0 to {current}.");
        }
    }

    private static void Validate(IReadOnlyList<ResourceChange> changes)
    {
        var seen = new HashSet<(string, string)>();
        foreach (var change in changes)
        {
            ArgumentNullException.ThrowIfNull(change);
            if (string.IsNullOrEmpty(change.Kind) || string.IsNullOrEmpty(change.Name))
            {
                throw new ArgumentException("Every change needs a kind and a name.", nameof(changes));
            }

            if (!seen.Add((change.Kind, change.Name)))
            {
                throw new ArgumentException($"Two changes name {change.Kind} '{change.Name}'; merge them into one.", nameof(changes));
            }

            if (change.Body is not null)
            {
                try
                {
                    using var _ = JsonDocument.Parse(change.Body);
                }
                catch (JsonException e)
                {
                    throw new ArgumentException($"The body of {change.Kind} '{change.Name}' is not JSON: {e.Message}", nameof(changes), e);
                }
            }
        }
    }
}
