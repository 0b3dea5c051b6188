using System.Globalization;
using System.Text;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Portal;

/// <summary>
/// Tells consumers, a week ahead, which of their applications' keys and API tokens are about to expire, in one mail per
/// account with a link to rotate or replace each. Every hour (and at start) it reads what expires within the week and
/// claims each reminder in the store before mailing it, so of several control-plane nodes one sends it, once. Suspended
/// applications and accounts that cannot sign in are not reminded. Runs where the portal sends mail.
/// </summary>
internal sealed partial class ExpiryReminders(IConfigStore store, PortalMail mail, PortalLinks links, TimeProvider time, ILogger logger)
{
    /// <summary>How far ahead an expiry is told.</summary>
    public static readonly TimeSpan Ahead = TimeSpan.FromDays(7);

    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    private const int Page = 1000;

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                try
                {
                    await RunOnceAsync(stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is System.Data.Common.DbException or ConfigStoreException or TimeoutException or IOException)
                {
                    LogFailed(logger, e.Message);
                }

                await Task.Delay(Interval, time, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: the mails sent (one per account with something expiring that no node has told it of yet).</summary>
    internal async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var until = now + Ahead;
        var site = links.Base ?? "the developer portal";
        var lines = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Add(string account, string line)
        {
            if (!lines.TryGetValue(account, out var list))
            {
                lines[account] = list = [];
            }

            list.Add(line);
        }

        // Applications' keys: every application, a page at a time (the keys are kept with their application).
        string? after = null;
        do
        {
            var page = await store.ListApplicationsAsync(null, null, after, Page, cancellationToken).ConfigureAwait(false);
            foreach (var application in page.Where(a => a.EffectiveState != ApplicationState.Suspended))
            {
                foreach (var key in application.Keys)
                {
                    if (key.Expires is { } expires && expires > now && expires <= until
                        && await store.ClaimReminderAsync(Claim("key", application.Id, key.Prefix, expires), expires, now, cancellationToken).ConfigureAwait(false))
                    {
                        Add(application.Account, $"- The key {key.Prefix}… of your application \"{PendingDigest.OneLine(application.Title)}\" (plan {application.Plan}) expires on {When(expires)}. " +
                            $"Rotate it at {site}/apps/{Uri.EscapeDataString(application.Id)}");
                    }
                }
            }

            after = page.Count == Page ? page[^1].Id : null;
        }
        while (after is not null);

        foreach (var token in await store.ListPortalTokensExpiringAsync(now, until, cancellationToken).ConfigureAwait(false))
        {
            if (await store.ClaimReminderAsync(Claim("token", token.Account, token.Name, token.ExpiresAt!.Value), token.ExpiresAt.Value, now, cancellationToken).ConfigureAwait(false))
            {
                Add(token.Account, $"- Your API token {token.Name} ({token.Prefix}…) expires on {When(token.ExpiresAt.Value)}. Make a new one at {site}/tokens");
            }
        }

        var sent = 0;
        foreach (var (accountId, list) in lines)
        {
            var account = await store.GetAccountAsync(accountId, cancellationToken).ConfigureAwait(false);
            if (account is not { State: AccountState.Active or AccountState.Pending })
            {
                continue;
            }

            var text = new StringBuilder()
                .Append(CultureInfo.InvariantCulture, $"These expire within {Ahead.TotalDays:0} days at {site}, and stop working then:\n\n")
                .AppendJoin('\n', list)
                .Append("\n\nA rotated key keeps the old one working for the grace period you choose, so nothing stops in between.\n")
                .ToString();
            mail.Send(account.Email, list.Count == 1 ? "A key expires soon at the developer portal" : $"{list.Count} keys and tokens expire soon at the developer portal", text);
            sent++;
        }

        return sent;
    }

    // One claim per thing and expiry: a key given a new expiry (a rotation) is told of again.
    private static string Claim(string kind, string owner, string name, DateTimeOffset expires) =>
        string.Create(CultureInfo.InvariantCulture, $"expiry:{kind}:{owner}:{name}:{expires.UtcTicks}");

    private static string When(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling consumers of keys about to expire failed ({Reason}); trying again in an hour")]
    private static partial void LogFailed(ILogger logger, string reason);
}
