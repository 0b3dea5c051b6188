using Gatehouse.Model.Limits;

namespace Gatehouse.Management.Stores;

/// <summary>
/// The control plane's configuration store: resources in immutable, numbered revisions, the audit
/// trail of every change, settings, nodes, self-registered targets and the gateway's quota counts. Open one with
/// <see cref="ConfigStores.OpenAsync"/>. Instances are safe to use from many threads, and many
/// instances (in one process or several) may share one database.
/// </summary>
public interface IConfigStore : IQuotaCountStore, IConsumerStore, IAsyncDisposable
{
    /// <summary>The newest committed revision; 0 when nothing was ever committed.</summary>
    Task<long> CurrentRevisionAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Every resource of <paramref name="revision"/> (the current one when null), ordered by kind and name.
    /// To know which revision "current" was, call <see cref="CurrentRevisionAsync"/> first and pass it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The revision does not exist.</exception>
    Task<IReadOnlyList<StoredResource>> ReadAsync(long? revision = null, CancellationToken cancellationToken = default);

    /// <summary>One resource as of <paramref name="revision"/> (the current one when null); null when it did not exist then.</summary>
    Task<StoredResource?> GetAsync(string kind, string name, long? revision = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies every change as one new revision, or nothing. Returns a conflict (and writes nothing) when
    /// the current revision is not <paramref name="expectedRevision"/>. Changes that change nothing are
    /// dropped; when all are, no revision is created and the result has <c>Changed = false</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Two changes name the same resource, or a kind or name is empty.</exception>
    Task<CommitResult> CommitAsync(
        IReadOnlyList<ResourceChange> changes, long expectedRevision, string actor, string summary, CancellationToken cancellationToken = default);

    /// <summary>Revisions newest first, only those older than <paramref name="before"/> when given (for paging).</summary>
    Task<IReadOnlyList<RevisionInfo>> ListRevisionsAsync(long? before = null, int limit = 50, CancellationToken cancellationToken = default);

    /// <summary>What changed from revision <paramref name="from"/> to revision <paramref name="to"/>, ordered by kind and name.</summary>
    Task<IReadOnlyList<ResourceDiff>> DiffAsync(long from, long to, CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits a new revision whose resources equal those of <paramref name="toRevision"/> (0 = empty).
    /// History is never rewritten. Conflict and no-op rules are those of <see cref="CommitAsync"/>.
    /// </summary>
    Task<CommitResult> RollbackAsync(long toRevision, long expectedRevision, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes the history older than the newest <paramref name="keepRevisions"/> revisions (they stay readable, diffable
    /// and rollback targets; older ones answer <see cref="RevisionPrunedException"/>), and the audit entries older than
    /// <paramref name="auditBefore"/> when given: the configuration's audit, and the consumer change log's entries with
    /// the rows of applications they deleted (raising <see cref="IConsumerStore.ConsumerHorizonAsync"/>). The current
    /// configuration is never touched.
    /// </summary>
    Task<PruneResult> PruneAsync(int keepRevisions, DateTimeOffset? auditBefore, CancellationToken cancellationToken = default);

    /// <summary>The oldest revision the store can read (0 until a prune).</summary>
    Task<long> OldestRevisionAsync(CancellationToken cancellationToken = default);

    /// <summary>Audit entries newest first, only those with an id below <paramref name="beforeId"/> when given (for paging).</summary>
    Task<IReadOnlyList<AuditEntry>> ListAuditAsync(long? beforeId = null, int limit = 50, CancellationToken cancellationToken = default);

    /// <summary>A setting's value, or null when it was never set.</summary>
    Task<string?> GetSettingAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces a setting.</summary>
    Task SetSettingAsync(string key, string value, CancellationToken cancellationToken = default);

    /// <summary>Records a node's report; <see cref="NodeInfo.LastSeen"/> is set from the store's clock.</summary>
    Task UpsertNodeAsync(string id, long revision, string info, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a node's report when the id is <paramref name="instance"/>'s to use: nobody holds it, this process
    /// already does, or its holder was last seen before <paramref name="liveSince"/> (stale), or at or before
    /// <paramref name="takeOverSeenAtOrBefore"/> (a holder the caller saw and watched miss a heartbeat). Atomic: of two
    /// processes claiming one id at once, one wins. Returns null when the report was recorded, else the row of the
    /// process that holds the id (nothing is written then).
    /// </summary>
    Task<NodeInfo?> ClaimNodeAsync(string id, string instance, long revision, string info, DateTimeOffset liveSince, DateTimeOffset? takeOverSeenAtOrBefore = null, CancellationToken cancellationToken = default);

    /// <summary>Notes on node <paramref name="id"/>'s row that another process also runs under that id (<see cref="NodeInfo.Clash"/>).</summary>
    Task MarkNodeClashAsync(string id, string clash, CancellationToken cancellationToken = default);

    /// <summary>Every node that ever reported, ordered by id.</summary>
    Task<IReadOnlyList<NodeInfo>> ListNodesAsync(CancellationToken cancellationToken = default);

    /// <summary>Removes a node's row (it reappears if that node reports again); false when there was none.</summary>
    Task<bool> DeleteNodeAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Removes the nodes last seen before <paramref name="before"/> (gone for good: scaled in, renamed, replaced); how many.</summary>
    Task<int> DeleteNodesSeenBeforeAsync(DateTimeOffset before, CancellationToken cancellationToken = default);

    /// <summary>Creates or renews a registration of <paramref name="url"/> for <paramref name="service"/>.</summary>
    Task UpsertRegistrationAsync(string service, string url, string owner, DateTimeOffset expiresAt, CancellationToken cancellationToken = default);

    /// <summary>Creates or renews each of <paramref name="registrations"/>, in order, in one transaction (all or none).</summary>
    Task UpsertRegistrationsAsync(IReadOnlyList<Registration> registrations, CancellationToken cancellationToken = default);

    /// <summary>Registrations still live at <paramref name="at"/> (expiring later), ordered by service and url.</summary>
    Task<IReadOnlyList<Registration>> ListRegistrationsAsync(DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>Removes one registration; false when there was none.</summary>
    Task<bool> DeleteRegistrationAsync(string service, string url, CancellationToken cancellationToken = default);

    /// <summary>Removes registrations that expired at or before <paramref name="at"/>; returns how many.</summary>
    Task<int> DeleteExpiredRegistrationsAsync(DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>
    /// Issues (or replaces) the node token <paramref name="name"/>; only its SHA-256 (lower-case hex) is stored. It is bound
    /// to node id <paramref name="node"/> when given, else to the first node id that uses it (<see cref="BindNodeTokenAsync"/>).
    /// </summary>
    Task SetNodeTokenAsync(string name, string tokenSha256, string? node = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Binds node token <paramref name="name"/> to <paramref name="node"/> when it is bound to none yet (atomically: of two
    /// nodes racing, one wins), and returns the node id it is bound to; null when there is no such token.
    /// </summary>
    Task<string?> BindNodeTokenAsync(string name, string node, CancellationToken cancellationToken = default);

    /// <summary>The name of the node token whose SHA-256 is <paramref name="tokenSha256"/>; null when there is none.</summary>
    Task<string?> FindNodeTokenAsync(string tokenSha256, CancellationToken cancellationToken = default);

    /// <summary>Every node token, by name.</summary>
    Task<IReadOnlyList<NodeToken>> ListNodeTokensAsync(CancellationToken cancellationToken = default);

    /// <summary>Revokes a node token; false when there was none of that name.</summary>
    Task<bool> DeleteNodeTokenAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Issues (or replaces) the named admin token <paramref name="name"/>; only its SHA-256 (lower-case hex) is stored.</summary>
    Task SetAdminTokenAsync(string name, string tokenSha256, AdminTokenScope scope, DateTimeOffset? expiresAt, string actor, CancellationToken cancellationToken = default);

    /// <summary>The named admin token whose SHA-256 is <paramref name="tokenSha256"/> (expired or not); null when there is none.</summary>
    Task<AdminApiToken?> FindAdminTokenAsync(string tokenSha256, CancellationToken cancellationToken = default);

    /// <summary>Every named admin token, by name.</summary>
    Task<IReadOnlyList<AdminApiToken>> ListAdminTokensAsync(CancellationToken cancellationToken = default);

    /// <summary>Revokes a named admin token; false when there was none of that name.</summary>
    Task<bool> DeleteAdminTokenAsync(string name, string actor, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies one usage upload of hybrid data node <paramref name="node"/> exactly once: its rows and its sequence in one
    /// transaction, when the sequence is newer than the last one applied for that node; false (nothing written) for a repeat.
    /// </summary>
    Task<bool> ApplyNodeUsageAsync(string node, long sequence, IReadOnlyList<Model.Usage.UsageRow> rows, IReadOnlyList<Model.Usage.AiUsageRow>? modelRows = null, CancellationToken cancellationToken = default);
}
