using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Admin;

/// <summary>What became of a change: refused (<see cref="Problem"/>), or committed (or a no-op) as <see cref="Commit"/>.</summary>
/// <param name="Before">The resources the change was decided against.</param>
/// <param name="ApplyErrors">Errors the gateway gave when asked to serve the new revision; empty when it serves it.</param>
internal sealed record ChangeOutcome(AdminProblem? Problem, CommitResult? Commit, IReadOnlyDictionary<(string Kind, string Name), StoredResource> Before, IReadOnlyList<string> ApplyErrors);
