using Gatehouse.Management.Stores;
using Gatehouse.Model.Loading;

namespace Gatehouse.Management.Revisions;

/// <summary>Reads a revision of a store as a config: compose its resources, then load them like a file.</summary>
public static class StoreConfig
{
    /// <summary>The composed document of <paramref name="revision"/> (the current one when null) and that revision's number.</summary>
    public static async Task<(long Revision, string Document)> ComposeAsync(IConfigStore store, long? revision = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var number = revision ?? await store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<StoredResource> rows = number == 0 ? [] : await store.ReadAsync(number, cancellationToken).ConfigureAwait(false);
        return (number, ConfigDocument.Compose(rows.Select(r => new ConfigResource(r.Kind, r.Name, r.Body))));
    }

    /// <summary>Loads <paramref name="revision"/> (the current one when null) with the same rules as a config file.</summary>
    public static async Task<(long Revision, ConfigLoadResult Result)> LoadAsync(
        IConfigStore store, string baseDirectory, Func<string, string?>? environment, long? revision = null, CancellationToken cancellationToken = default)
    {
        var (number, document) = await ComposeAsync(store, revision, cancellationToken).ConfigureAwait(false);
        // Loading is synchronous and may block (an OpenAPI document fetched by URL), and after the store's answer this may
        // run on a socket event-loop thread (inline completions, Program.cs): load on the thread pool.
        var loaded = await Task.Run(() => ConfigLoader.Load(document, baseDirectory, environment), cancellationToken).ConfigureAwait(false);
        return (number, loaded);
    }

    /// <summary>
    /// Imports the config file text <paramref name="text"/> into an empty store as one revision.
    /// Returns the errors that kept it from being imported (the file is checked with the loader first).
    /// </summary>
    public static async Task<(CommitResult? Commit, IReadOnlyList<Model.Validation.ConfigError> Errors)> ImportAsync(
        IConfigStore store, string text, string baseDirectory, Func<string, string?>? environment, string actor, string summary, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        // As in LoadAsync: the caller may be on a socket event-loop thread (after a PostgreSQL store's answer).
        var loaded = await Task.Run(() => ConfigLoader.Load(text, baseDirectory, environment), cancellationToken).ConfigureAwait(false);
        if (!loaded.IsValid)
        {
            return (null, loaded.Errors);
        }

        var resources = ConfigDocument.Split(text, out var errors);
        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var changes = resources.Select(r => new ResourceChange(r.Kind, r.Name, r.Body)).ToList();
        var commit = await store.CommitAsync(changes, expectedRevision: 0, actor, summary, cancellationToken).ConfigureAwait(false);
        return (commit, []);
    }
}
