using System.Text;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Portal;

/// <summary>
/// Tells the console's administrators (its users with role admin) that accounts or applications wait for their
/// approval. The first one arriving is mailed at once; what arrives after it within <see cref="Interval"/> goes in one
/// mail at the end of it, so a burst of sign-ups under account approval is one mail, not a thousand. Each mail says how
/// many wait in all (read from the store, so approvals made meanwhile are not repeated) and names the first
/// <see cref="Listed"/> of each.
/// </summary>
internal sealed partial class PendingDigest(IConsumerStore store, PortalMail mail, PortalLinks links, string consoleUrl, TimeProvider time, ILogger logger)
{
    /// <summary>At most one mail to each administrator in this time.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    /// <summary>How many accounts and applications a mail names.</summary>
    public const int Listed = 20;

    // Released by each pending item; at most one release is kept, so a burst is one wake-up.
    private readonly SemaphoreSlim _due = new(0, 1);
    private DateTimeOffset _next = DateTimeOffset.MinValue;

    /// <summary>Something waits for approval (called on the request path: never blocks).</summary>
    public void Poke()
    {
        try
        {
            _due.Release();
        }
        catch (SemaphoreFullException)
        {
            // a wake-up is due already
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await _due.WaitAsync(stop).ConfigureAwait(false);
                if (_next - time.GetUtcNow() is { Ticks: > 0 } wait)
                {
                    await Task.Delay(wait, time, stop).ConfigureAwait(false);
                }

                _next = time.GetUtcNow() + Interval;
                try
                {
                    await SendAsync(stop).ConfigureAwait(false);
                }
                catch (Exception e) when (e is System.Data.Common.DbException or ConfigStoreException or TimeoutException or IOException)
                {
                    LogFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        var accounts = await store.ListAccountsAsync(AccountState.Pending, null, Listed + 1, cancellationToken).ConfigureAwait(false);
        var applications = await store.ListApplicationsAsync(null, Model.Config.ApplicationState.Pending, null, Listed + 1, cancellationToken).ConfigureAwait(false);
        if (accounts.Count == 0 && applications.Count == 0)
        {
            return;
        }

        var admins = (await store.ListAdminUsersAsync(cancellationToken).ConfigureAwait(false)).Where(u => u.Role == AdminRole.Admin).ToList();
        if (admins.Count == 0)
        {
            return; // no one to tell: the console's Pending page shows them to whoever signs in with the admin token
        }

        var text = new StringBuilder();
        text.Append("Waiting for an administrator at the developer portal ").Append(links.Base ?? "").Append(":\n\n");
        Describe(text, "accounts", accounts.Count, accounts.Take(Listed).Select(a => $"{a.Email} ({OneLine(a.Title)})"));
        Describe(text, "applications", applications.Count, applications.Take(Listed).Select(a => $"\"{OneLine(a.Title)}\" on the plan {a.Plan} ({a.Account})"));
        text.Append("Approve or reject them on the console's Pending page: ").Append(consoleUrl).Append("/console/pending\n");
        var subject = (accounts.Count, applications.Count) switch
        {
            (> 0, > 0) => "Accounts and applications wait for approval",
            (> 0, _) => accounts.Count == 1 ? "An account waits for approval" : "Accounts wait for approval",
            _ => applications.Count == 1 ? "An application waits for approval" : "Applications wait for approval",
        };
        foreach (var admin in admins)
        {
            mail.Send(admin.Email, subject, text.ToString());
        }
    }

    /// <summary>
    /// A consumer's name or title on one line: they may hold line breaks, and in a mail to the administrators a line a
    /// consumer wrote must not pass for one the portal wrote ("Approve them at http://…").
    /// </summary>
    internal static string OneLine(string? text) => string.Join(' ', (text ?? "").Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries));

    private static void Describe(StringBuilder text, string what, int count, IEnumerable<string> names)
    {
        if (count == 0)
        {
            return;
        }

        text.Append(count > Listed ? $"More than {Listed} {what}, the first {Listed}:\n" : $"{count} {(count == 1 ? what[..^1] : what)}:\n");
        foreach (var name in names)
        {
            text.Append("- ").Append(name).Append('\n');
        }

        text.Append('\n');
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling the administrators of pending approvals failed ({Reason}); the next one tries again")]
    private static partial void LogFailed(ILogger logger, string reason);
}
