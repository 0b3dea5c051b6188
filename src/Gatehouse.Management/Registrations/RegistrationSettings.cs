using Gatehouse.Management.Admin;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Registrations;

/// <summary>
/// The current revision's config, as the registration endpoints need it (which services take registrations, with which
/// tokens and limits). A heartbeat costs one "which revision is current" query: the config of that revision is the one
/// the admin API already loaded (it loads each revision once, binding only what changed).
/// </summary>
internal sealed class RegistrationSettings(AdminApiOptions options, ConfigChanges changes)
{
    /// <summary>The current revision's config; null when it does not load (then nothing can be registered).</summary>
    public async Task<GatehouseConfig?> CurrentAsync(CancellationToken cancellationToken)
    {
        var revision = await options.Store.CurrentRevisionAsync(cancellationToken).ConfigureAwait(false);
        return await changes.ConfigOfAsync(revision, cancellationToken).ConfigureAwait(false);
    }
}
