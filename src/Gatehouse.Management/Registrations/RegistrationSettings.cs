using Gatehouse.Management.Admin;
using Gatehouse.Management.Revisions;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Registrations;

/// <summary>
/// The current revision's config, as the registration endpoints need it (which services take registrations, with which
/// tokens and limits). Loaded once per revision: a heartbeat costs one "which revision is current" query, not a load.
/// </summary>
internal sealed class RegistrationSettings(AdminApiOptions options)
{
    private readonly SemaphoreSlim _loading = new(1, 1);
    private volatile Loaded _cached = new(-1, null);

    /// <summary>The current revision's config; null when it does not load (then nothing can be registered).</summary>
    public async Task<GatehouseConfig?> CurrentAsync(CancellationToken cancellationToken)
    {
        var revision = await options.Store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
        var cached = _cached;
        if (cached.Revision == revision)
        {
            return cached.Config;
        }

        await _loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_cached.Revision >= revision)
            {
                return _cached.Revision == revision ? _cached.Config : await LoadAsync(revision, cancellationToken).ConfigureAwait(false);
            }

            var config = await LoadAsync(revision, cancellationToken).ConfigureAwait(false);
            _cached = new Loaded(revision, config);
            return config;
        }
        finally
        {
            _loading.Release();
        }
    }

    // Loading may read files and fetch documents: on the thread pool, as ConfigChanges does.
    private Task<GatehouseConfig?> LoadAsync(long revision, CancellationToken cancellationToken) => Task.Run(async () =>
    {
        var (_, result) = await StoreConfig.LoadAsync(options.Store, options.BaseDirectory, options.Environment, revision, cancellationToken).ConfigureAwait(false);
        return result.IsValid ? result.Config : null;
    }, cancellationToken);

    private sealed record Loaded(long Revision, GatehouseConfig? Config);
}
