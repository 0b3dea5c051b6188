using Gatehouse.Management.Admin;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Consumers;

// A new key for an application that has none that works (its last one revoked, or expired): without it the application
// could only be deleted and made again, under a new id its services know it by.
internal sealed partial class ConsumerService
{
    /// <summary>
    /// Gives application <paramref name="id"/> of <paramref name="account"/> a new key, shown only in this result, when it
    /// has no key that works (none, or only expired ones, which it keeps): under the same rules as a new application's first key (the account is active, the key's lifetime is
    /// within the portal's maximum), and not for a suspended application, whose key could not work. An application
    /// with a key gets its replacement by rotating it, so a consumer cannot pile up keys, and two such requests at once
    /// make one key (the check is in the same write).
    /// </summary>
    public async Task<(PortalApplication? Application, string? Key, AdminProblem? Problem)> AddKeyAsync(
        ConsumerAccount account, string id, string actor, CancellationToken cancellationToken, TimeSpan? keyLifetime = null)
    {
        if (account.State != AccountState.Active)
        {
            return (null, null, new AdminProblem(StatusCodes.Status403Forbidden, "account-not-active", "Account not approved yet",
                "Your account waits for an administrator's approval; you can make keys once it is approved."));
        }

        if (await CheckKeyLifetimeAsync(keyLifetime, cancellationToken).ConfigureAwait(false) is { } bad)
        {
            return (null, null, bad);
        }

        string? key = null;
        var (application, problem) = await ChangeAsync(account.Id, id, actor, "new key", app =>
        {
            if (app.EffectiveState == ApplicationState.Suspended)
            {
                return (null, new AdminProblem(StatusCodes.Status409Conflict, "application-suspended", "The application is suspended",
                    $"Application '{id}' is suspended: a key for it would not work. Ask the portal's operators why, or make another application."));
            }

            var now = _time.GetUtcNow();
            if (app.Keys.Any(k => k.Expires is null || k.Expires > now))
            {
                return (null, new AdminProblem(StatusCodes.Status409Conflict, "application-has-key", "The application has a key",
                    $"Application '{id}' has a key already: rotate it for a new one (its old key can keep working for a while)."));
            }

            var (plaintext, entry) = NewKey(app.Keys, keyLifetime is { } lifetime ? now + lifetime : null);
            key = plaintext;
            return (app with { Keys = [.. app.Keys, entry] }, null);
        }, cancellationToken).ConfigureAwait(false);
        return (application, problem is null ? key : null, problem);
    }
}
