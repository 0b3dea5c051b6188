using System.Diagnostics;
using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Admin;

/// <summary>
/// Every change goes the same way: read a revision, decide the change against it, compose the candidate config,
/// load it with the file's rules (422 with every error), commit it based on the revision read, and hand the new
/// config to the gateway. Changes from this process are serialized, so they never conflict with each other and
/// reach the gateway in revision order; a conflict with another process is retried once on a fresh read.
/// </summary>
internal sealed partial class ConfigChanges(AdminApiOptions options, ILogger<ConfigChanges> logger)
{
    private readonly SemaphoreSlim _writer = new(1, 1);
    // Binds only the resources that changed since the last load: a change to one of 110,000 resources costs the
    // cross-resource checks, not a parse of the whole configuration (docs/benchmarks.md, "Applies: zero downtime and large configs").
    private readonly IncrementalConfigLoader _loader = new(options.BaseDirectory, options.Environment);
    // The resources of the newest revision this process read or committed; rows of a revision never change, so
    // while the store's current revision is this one, it need not be read again.
    private volatile Snapshot? _snapshot;
    // The config of the newest revision loaded here (committed, caught up with or warmed), for readers such as the
    // registration endpoints that need the current config but must not load 100,000 resources per request.
    private volatile LoadedRevision? _loaded;
    private readonly SemaphoreSlim _loading = new(1, 1);
    private long _applied = options.ServedRevision;
    private long _refused;

    public IConfigStore Store => options.Store;

    /// <summary>Decides with <paramref name="decide"/> against the current revision, then validates, commits and applies.</summary>
    public Task<ChangeOutcome> ChangeAsync(
        Func<IReadOnlyDictionary<(string Kind, string Name), StoredResource>, ChangePlan> decide, string actor, string summary, CancellationToken cancellationToken) =>
        ChangeAsync((_, current) => decide(current), actor, summary, dryRun: false, cancellationToken);

    /// <summary>
    /// Decides with <paramref name="decide"/> against the current revision (its number and resources), then validates,
    /// commits and applies. With <paramref name="dryRun"/> it stops after validating: the outcome's commit is the
    /// current revision, unchanged.
    /// </summary>
    public async Task<ChangeOutcome> ChangeAsync(
        Func<long, IReadOnlyDictionary<(string Kind, string Name), StoredResource>, ChangePlan> decide,
        string actor,
        string summary,
        bool dryRun,
        CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var timing = Stopwatch.StartNew();
                var revision = await Store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
                var current = await ReadAsync(revision, cancellationToken).ConfigureAwait(false);
                var read = timing.ElapsedMilliseconds;
                var plan = decide(revision, current);
                if (plan.Problem is not null)
                {
                    return new ChangeOutcome(plan.Problem, null, current, []);
                }

                var candidate = current.ToDictionary();
                foreach (var change in plan.Changes)
                {
                    if (change.Body is null)
                    {
                        candidate.Remove((change.Kind, change.Name));
                    }
                    else if (!current.TryGetValue((change.Kind, change.Name), out var before) || !string.Equals(before.Body, change.Body, StringComparison.Ordinal))
                    {
                        // As the store decides: a body equal to the stored one (ordinally) is no change and keeps its revision.
                        candidate[(change.Kind, change.Name)] = new StoredResource(change.Kind, change.Name, change.Body, revision + 1);
                    }
                }

                var decided = timing.ElapsedMilliseconds;
                var loaded = await LoadAsync(candidate.Values).ConfigureAwait(false);
                var validated = timing.ElapsedMilliseconds;
                if (!loaded.IsValid)
                {
                    return new ChangeOutcome(Invalid(loaded.Errors), null, current, []);
                }

                if (dryRun)
                {
                    return new ChangeOutcome(null, CommitResult.Unchanged(revision), current, []);
                }

                // Not cancellable from here on: a client that hangs up must not leave a committed revision unapplied.
                var commit = await Store.CommitAsync(plan.Changes, revision, actor, summary, CancellationToken.None).ConfigureAwait(false);
                if (commit.Conflict)
                {
                    if (attempt < 2)
                    {
                        continue;
                    }

                    return new ChangeOutcome(Conflict(), null, current, []);
                }

                var committed = timing.ElapsedMilliseconds;
                if (commit.Changed && commit.Revision == revision + 1)
                {
                    _snapshot = new Snapshot(commit.Revision, candidate);
                    Remember(commit.Revision, loaded.Config!);
                }

                if (commit.Changed)
                {
                    options.Committed?.Invoke(commit.Revision);
                }

                var errors = commit.Changed ? Apply(commit.Revision, loaded.Config!) : [];
                if (commit.Changed)
                {
                    // Where an apply's time goes, for large configs (docs/benchmarks.md, "Applies: zero downtime and large configs").
                    LogTimings(logger, commit.Revision, current.Count, read, decided - read, validated - decided, committed - validated, timing.ElapsedMilliseconds - committed);
                }

                return new ChangeOutcome(null, commit, current, errors);
            }
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Commits a revision equal to <paramref name="target"/> after checking that its config is still valid.</summary>
    public async Task<ChangeOutcome> RollbackAsync(long target, string actor, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var revision = await Store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
            if (target < 0 || target > revision)
            {
                return new ChangeOutcome(AdminProblem.NotFound($"Revision {target}"), null, new Dictionary<(string, string), StoredResource>(), []);
            }

            var resources = await ReadAsync(target, cancellationToken).ConfigureAwait(false);
            var loaded = await LoadAsync(resources.Values).ConfigureAwait(false);
            if (!loaded.IsValid)
            {
                return new ChangeOutcome(Invalid(loaded.Errors), null, resources, []);
            }

            var commit = await Store.RollbackAsync(target, revision, actor, CancellationToken.None).ConfigureAwait(false);
            if (commit.Conflict)
            {
                return new ChangeOutcome(Conflict(), null, resources, []);
            }

            if (commit.Changed)
            {
                options.Committed?.Invoke(commit.Revision);
            }

            var errors = commit.Changed ? Apply(commit.Revision, loaded.Config!) : [];
            return new ChangeOutcome(null, commit, resources, errors);
        }
        finally
        {
            _writer.Release();
        }
    }

    public async Task<IReadOnlyDictionary<(string Kind, string Name), StoredResource>> ReadAsync(long revision, CancellationToken cancellationToken)
    {
        if (_snapshot is { } known && known.Revision == revision)
        {
            return known.Resources;
        }

        IReadOnlyList<StoredResource> rows = revision == 0 ? [] : await Store.ReadAsync(revision, cancellationToken).ConfigureAwait(false);
        var resources = rows.ToDictionary(r => (r.Kind, r.Name));
        if (revision >= (_snapshot?.Revision ?? 0))
        {
            _snapshot = new Snapshot(revision, resources);
        }

        return resources;
    }

    /// <summary>
    /// Serves the store's newest revision when it is newer than the one served here: another control plane (a node
    /// sharing the store) committed it. Returns whether a revision was applied. A revision this node cannot load (a file
    /// or document it cannot read) is logged once and skipped; the node keeps serving what it has.
    /// </summary>
    public async Task<bool> CatchUpAsync(CancellationToken cancellationToken)
    {
        if (options.Apply is null)
        {
            return false;
        }

        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var revision = await Store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
            if (revision <= _applied || revision == _refused)
            {
                return false;
            }

            var loaded = await LoadRevisionAsync(revision, cancellationToken).ConfigureAwait(false);
            if (!loaded.IsValid)
            {
                _refused = revision;
                LogCannotServe(logger, revision, string.Join("; ", loaded.Errors.Take(10)));
                return false;
            }

            var errors = Apply(revision, loaded.Config!);
            if (errors.Count == 0)
            {
                LogCaughtUp(logger, revision);
            }

            return errors.Count == 0;
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>
    /// Reads and loads the current revision once, off the caller's path, so that the first change binds only what it
    /// changes. A failure is only logged: the first change then binds everything itself.
    /// </summary>
    public Task WarmAsync(CancellationToken cancellationToken) => Task.Run(async () =>
    {
        try
        {
            var revision = await Store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
            await ConfigOfAsync(revision, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogWarmFailed(logger, e);
        }
    }, cancellationToken);

    /// <summary>
    /// The config of the store's current revision (what the registration endpoints check tokens against): one "which
    /// revision is current" query, then the config this process already loaded for it. Null when it does not load here.
    /// </summary>
    public async Task<GatehouseConfig?> CurrentConfigAsync(CancellationToken cancellationToken) =>
        await ConfigOfAsync(await Store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The config of <paramref name="revision"/>: the one already loaded when it is that revision, otherwise loaded now
    /// (binding only what differs from the last load). Null when that revision does not load here.
    /// </summary>
    public async Task<GatehouseConfig?> ConfigOfAsync(long revision, CancellationToken cancellationToken) =>
        (await LoadRevisionAsync(revision, cancellationToken).ConfigureAwait(false)) is { IsValid: true } loaded ? loaded.Config : null;

    // The one place a stored revision is loaded: from what was already loaded when it is that revision, else read and
    // bound (only what differs from the last load), once however many callers arrive together (heartbeats right after
    // a change, the follow loop).
    private async Task<ConfigLoadResult> LoadRevisionAsync(long revision, CancellationToken cancellationToken)
    {
        if (_loaded is { } known && known.Revision == revision)
        {
            return new ConfigLoadResult(known.Config, []);
        }

        await _loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_loaded is { } loadedMeanwhile && loadedMeanwhile.Revision == revision)
            {
                return new ConfigLoadResult(loadedMeanwhile.Config, []);
            }

            var resources = await ReadAsync(revision, cancellationToken).ConfigureAwait(false);
            var loaded = await LoadAsync(resources.Values).ConfigureAwait(false);
            if (loaded.IsValid)
            {
                Remember(revision, loaded.Config!);
            }

            return loaded;
        }
        finally
        {
            _loading.Release();
        }
    }

    private void Remember(long revision, GatehouseConfig config)
    {
        // Newest wins; an older revision loaded for a reader is returned to it but not kept.
        if (revision >= (_loaded?.Revision ?? 0))
        {
            _loaded = new LoadedRevision(revision, config);
        }
    }

    // Loading is synchronous and may read files and fetch OpenAPI documents. The gateway in the same process may run
    // socket completions inline on the runtime's I/O threads (Program.cs), where a store query's continuation can
    // land; loading on the thread pool keeps that work off them.
    private Task<ConfigLoadResult> LoadAsync(IEnumerable<StoredResource> resources) => Task.Run(() => Load(resources));

    private ConfigLoadResult Load(IEnumerable<StoredResource> resources) =>
        // Sorted so that the candidate reads like the stored revision will (the store orders by kind and name).
        _loader.Load(resources
            .OrderBy(r => r.Kind, StringComparer.Ordinal)
            .ThenBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => new ConfigEntry(ResourceKinds.SectionOf(r.Kind)!, r.Name, r.Body))
            .ToList());

    private IReadOnlyList<string> Apply(long revision, GatehouseConfig config)
    {
        if (options.Apply is null || revision <= _applied)
        {
            return [];
        }

        var errors = options.Apply(config);
        if (errors.Count > 0)
        {
            LogNotApplied(logger, revision, string.Join("; ", errors));
            return errors.Select(e => e.ToString()).ToList();
        }

        _applied = revision;
        options.Node?.Applied(revision);
        LogApplied(logger, revision);
        return [];
    }

    internal static AdminProblem Invalid(IReadOnlyList<ConfigError> errors)
    {
        var list = new JsonArray();
        foreach (var error in errors)
        {
            list.Add(new JsonObject { ["path"] = error.Path, ["message"] = error.Message });
        }

        return new AdminProblem(
            StatusCodes.Status422UnprocessableEntity,
            "invalid-config",
            "Invalid configuration",
            $"The change would make the configuration invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}); nothing was changed. Fix what 'errors' lists and send it again.",
            new JsonObject { ["errors"] = list });
    }

    private static AdminProblem Conflict() => new(
        StatusCodes.Status409Conflict,
        "revision-conflict",
        "Concurrent change",
        "Another control plane committed at the same time, twice; nothing was changed. Send the request again.");

    [LoggerMessage(Level = LogLevel.Information, Message = "Revision {Revision}, committed by another control plane, is now served here.")]
    private static partial void LogCaughtUp(ILogger logger, long revision);

    [LoggerMessage(Level = LogLevel.Error, Message = "Revision {Revision}, committed by another control plane, cannot be loaded here; still serving the last good one: {Errors}")]
    private static partial void LogCannotServe(ILogger logger, long revision, string errors);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not load the current revision ahead of the first change; that change will load it.")]
    private static partial void LogWarmFailed(ILogger logger, Exception exception);

    private sealed record LoadedRevision(long Revision, GatehouseConfig Config);

    /// <summary>The resources of one revision, never changed once made.</summary>
    private sealed record Snapshot(long Revision, IReadOnlyDictionary<(string Kind, string Name), StoredResource> Resources);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revision {Revision} is now served.")]
    private static partial void LogApplied(ILogger logger, long revision);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revision {Revision} ({Resources} resources before): read {Read} ms, decide {Decide} ms, bind changed + validate {Load} ms, commit {Commit} ms, gateway apply {Apply} ms")]
    private static partial void LogTimings(ILogger logger, long revision, int resources, long read, long decide, long load, long commit, long apply);

    [LoggerMessage(Level = LogLevel.Error, Message = "Revision {Revision} was committed but the gateway refused it: {Errors}")]
    private static partial void LogNotApplied(ILogger logger, long revision, string errors);
}
