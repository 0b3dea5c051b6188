using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using System.Threading.RateLimiting;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace Gatehouse.Management.Portal;

/// <summary>
/// Sends the portal's mails (password resets) off the request path: a bounded queue (dropped and counted when full,
/// never blocking a request) drained by one background loop. The loop either writes each message, built with MimeKit,
/// as an <c>.eml</c> file into a pickup directory, or sends it through an SMTP server with MailKit, over one connection
/// per burst, retrying a failed attempt (no answer, a 4xx reply, a refused login or certificate) with growing pauses
/// before it gives the message up. Because a request only enqueues, a reset for a known address takes as long as one
/// for an unknown address, and a slow or absent mail server never slows a page.
/// </summary>
internal sealed partial class PortalMail : IAsyncDisposable
{
    /// <summary>The portal's meter; the gateway's metrics (<c>/metrics</c>) export it on a node that runs both.</summary>
    public const string MeterName = "Gatehouse.Portal";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Mails = Meter.CreateCounter<long>("gatehouse.portal.mails", "{mail}",
        "The portal's mails by outcome: sent (handed to the SMTP server or written to the pickup folder), failed (refused for good, or given up after every retry), dropped (the queue was full), limited (the recipient had its hour's mails)");

    /// <summary>The most mails one address gets in an hour: anyone can ask for a reset or sign up with any address.</summary>
    public const int DefaultPerRecipientPerHour = 5;

    /// <summary>The pauses between attempts at one message: after the last, it is given up (logged and counted).</summary>
    internal static readonly TimeSpan[] DefaultRetryDelays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(5)];

    private readonly Channel<MimeMessage> _queue = Channel.CreateBounded<MimeMessage>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly string? _directory;
    private readonly SmtpSettings? _smtp;
    private readonly MailboxAddress _from;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IReadOnlyList<TimeSpan> _retryDelays;
    private readonly Task _loop;
    private readonly PartitionedRateLimiter<string> _perRecipient;
    private readonly int _perRecipientLimit;
    private readonly Stores.IConsumerStore? _store;
    private MimeMessage? _counted;
    private long _limited;
    private long _dropped;
    private long _sent;
    private long _failed;

    /// <param name="store">
    /// Where every control-plane node of one store counts each recipient's mails of the last hour, so that an address gets
    /// its <paramref name="perRecipientPerHour"/> mails in all, not from each node; null: this process only.
    /// </param>
    public PortalMail(string? directory, SmtpSettings? smtp = null, string? from = null, ILogger? logger = null, TimeProvider? time = null, IReadOnlyList<TimeSpan>? retryDelays = null,
        int perRecipientPerHour = DefaultPerRecipientPerHour, Stores.IConsumerStore? store = null)
    {
        _store = store;
        if (directory is not null && smtp is not null)
        {
            throw new ArgumentException("Give the portal either a mail folder (--portal-mail-dir) or an SMTP server (--portal-smtp), not both.");
        }

        _from = from is null ? new MailboxAddress("Developer portal", "portal@localhost")
            : MailboxAddress.TryParse(from, out var parsed) && parsed.Address.Contains('@', StringComparison.Ordinal) ? parsed
            : throw new ArgumentException($"--portal-mail-from '{from}' is not a mail address (for example \"API portal <noreply@example.com>\").");
        if (smtp is not null && from is null)
        {
            throw new ArgumentException("--portal-smtp needs --portal-mail-from, the address the portal's mails come from (for example \"API portal <noreply@example.com>\"); it must be one the SMTP server may send as.");
        }

        (_directory, _smtp, _logger, _time) = (directory, smtp, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, time ?? TimeProvider.System);
        _retryDelays = retryDelays ?? DefaultRetryDelays;
        _perRecipientLimit = perRecipientPerHour;
        // Per recipient, in this process: a sliding hour in six steps. The partitioned limiter drops idle partitions by itself.
        // With a store, the background loop counts each mail again over every node (AllowedOnEveryNodeAsync).
        _perRecipient = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetSlidingWindowLimiter(address, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = perRecipientPerHour,
            Window = TimeSpan.FromHours(1),
            SegmentsPerWindow = 6,
            QueueLimit = 0,
        }));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        _loop = Task.Run(DrainAsync);
    }

    /// <summary>Whether mails go anywhere.</summary>
    public bool Enabled => _directory is not null || _smtp is not null;

    /// <summary>Mails dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Mails handed to the SMTP server or written to the folder.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Mails given up: refused for good by the SMTP server, or still failing after every retry.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Mails not sent because their recipient had had its hour's mails.</summary>
    public long Limited => Interlocked.Read(ref _limited);

    /// <summary>
    /// Queues a mail, unless its recipient has had its hour's mails in this process (then it is counted and logged as
    /// limited). Never waits: the count over every node (with a store) is made by the background loop, so that a page that
    /// sends a mail answers as fast as one that does not (a reset for an unknown address sends none).
    /// </summary>
    public void Send(string to, string subject, string text)
    {
        if (!Enabled)
        {
            return;
        }

        var recipient = MailboxAddress.Parse(to);
        using (var lease = _perRecipient.AttemptAcquire(recipient.Address.ToLowerInvariant()))
        {
            if (!lease.IsAcquired)
            {
                Count(ref _limited, "limited");
                LogLimited(_logger, recipient.Domain, _perRecipientLimit);
                return;
            }
        }

        var message = new MimeMessage();
        message.From.Add(_from);
        message.To.Add(recipient);
        message.Subject = subject;
        message.Date = _time.GetUtcNow();
        message.Body = new TextPart("plain") { Text = text };
        if (!_queue.Writer.TryWrite(message))
        {
            Count(ref _dropped, "dropped");
            LogDropped(_logger);
        }
    }

    private async Task DrainAsync()
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                if (_smtp is null)
                {
                    while (_queue.Reader.TryRead(out var message))
                    {
                        if (await AllowedOnEveryNodeAsync(message).ConfigureAwait(false))
                        {
                            await WriteFileAsync(message).ConfigureAwait(false);
                        }
                    }
                }
                else
                {
                    await SendBurstAsync(_smtp).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// With a store, counts the mail against its recipient's hour on every control-plane node of that store (the address
    /// kept as its SHA-256 only, for the hour its row lives); false, counted and logged as limited, when the recipient has
    /// had its mails. A store that cannot be asked lets the mail go (this process's own count has passed it) and is logged.
    /// </summary>
    private async Task<bool> AllowedOnEveryNodeAsync(MimeMessage message)
    {
        if (_store is null || message.To.Mailboxes.FirstOrDefault() is not { } recipient)
        {
            return true;
        }

        try
        {
            var key = "m:" + Gatehouse.Model.Access.ApiKeyHash.Sha256Hex(recipient.Address.ToLowerInvariant());
            var (counted, _) = await _store.TryCountLoginAttemptAsync([(key, _perRecipientLimit)], _time.GetUtcNow(), TimeSpan.FromHours(1), _stop.Token).ConfigureAwait(false);
            if (counted is not null)
            {
                return true;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogCountFailed(_logger, recipient.Domain, e.Message);
            return true;
        }

        LogLimited(_logger, recipient.Domain, _perRecipientLimit);
        Count(ref _limited, "limited");
        return false;
    }

    private async Task WriteFileAsync(MimeMessage message)
    {
        // Written under another name and renamed, so a reader of the folder never sees half a message.
        var name = Path.Combine(_directory!, $"{DateTime.UtcNow:yyyyMMddTHHmmssfff}-{Guid.NewGuid():N}");
        try
        {
            await message.WriteToAsync(name + ".tmp").ConfigureAwait(false);
            File.Move(name + ".tmp", name + ".eml");
            Count(ref _sent, "sent");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogFileFailed(_logger, _directory!, e.Message);
            Count(ref _failed, "failed");
        }
    }

    // Everything queued, over one connection; a message that fails is retried after a pause (on a new connection) until
    // the delays run out. A message's later attempts wait behind it: the queue is small and the next would fail alike.
    private async Task SendBurstAsync(SmtpSettings smtp)
    {
        using var client = new SmtpClient { Timeout = (int)smtp.Timeout.TotalMilliseconds };
        if (smtp.TrustedRoots is { } roots)
        {
            client.ServerCertificateValidationCallback = (_, certificate, _, errors) => ChainsTo(certificate, errors, roots);
        }

        var attempt = 0;
        while (_queue.Reader.TryPeek(out var message))
        {
            // Counted once, before its first attempt; a message retried is not counted again.
            if (!ReferenceEquals(message, _counted))
            {
                if (!await AllowedOnEveryNodeAsync(message).ConfigureAwait(false))
                {
                    _queue.Reader.TryRead(out _);
                    continue;
                }

                _counted = message;
            }

            try
            {
                if (!client.IsConnected)
                {
                    await client.ConnectAsync(smtp.Host, smtp.Port, Options(smtp.Security), _stop.Token).ConfigureAwait(false);
                    if (smtp.UserName is not null)
                    {
                        await client.AuthenticateAsync(smtp.UserName, smtp.Password!, _stop.Token).ConfigureAwait(false);
                    }
                }

                await client.SendAsync(message, _stop.Token).ConfigureAwait(false);
                _queue.Reader.TryRead(out _);
                Count(ref _sent, "sent");
                attempt = 0;
            }
            catch (SmtpCommandException e) when ((int)e.StatusCode >= 500 && e.ErrorCode != SmtpErrorCode.UnexpectedStatusCode)
            {
                // A 5xx for this sender, recipient or message is the server's final word on it; the next message may pass.
                // Logged before it is counted: whoever sees the count (a test, the metrics) then finds the line too.
                _queue.Reader.TryRead(out _);
                LogRefused(_logger, Domain(message), smtp.ToString(), (int)e.StatusCode, Flat(e.Message));
                Count(ref _failed, "failed");
                attempt = 0;
            }
            catch (Exception e) when (Transient(e) && !_stop.IsCancellationRequested)
            {
                await DisconnectQuietlyAsync(client).ConfigureAwait(false);
                if (attempt >= _retryDelays.Count)
                {
                    _queue.Reader.TryRead(out _);
                    LogGaveUp(_logger, Domain(message), smtp.ToString(), attempt + 1, Why(e));
                    Count(ref _failed, "failed");
                    attempt = 0;
                    continue;
                }

                var delay = _retryDelays[attempt++];
                LogRetrying(_logger, smtp.ToString(), Why(e), delay.TotalSeconds);
                await Task.Delay(delay, _time, _stop.Token).ConfigureAwait(false);
            }
        }

        await DisconnectQuietlyAsync(client).ConfigureAwait(false);
    }

    // The metric first: whoever reads the count (a test waiting for it, the portal's status) then finds it in the metric too.
    private static void Count(ref long field, string outcome)
    {
        Mails.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        Interlocked.Increment(ref field);
    }

    private static SecureSocketOptions Options(SmtpSecurity security) => security switch
    {
        SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        _ => SecureSocketOptions.None,
    };

    private static bool Transient(Exception e) =>
        e is SmtpCommandException or SmtpProtocolException or ServiceNotConnectedException or ServiceNotAuthenticatedException
            or AuthenticationException or SslHandshakeException or NotSupportedException or IOException or SocketException or TimeoutException
            or OperationCanceledException;

    // What to tell the operator, in a line: which of the usual causes it was.
    private static string Why(Exception e) => e switch
    {
        AuthenticationException => "the server refused the user name and password (check the user in --portal-smtp and " + SmtpSettings.PasswordVariable + ")",
        SslHandshakeException => "the server's certificate is not trusted or not for this host name (check the host, or give its CA with --portal-smtp-ca)",
        NotSupportedException => "the server does not offer STARTTLS (use smtps://, or ?tls=none for a relay on this machine)",
        SmtpCommandException c => $"the server answered {(int)c.StatusCode}: {Flat(c.Message)}",
        SocketException s => $"cannot connect: {Flat(s.Message)}",
        _ => Flat(e.Message),
    };

    private static string Flat(string message) => message.ReplaceLineEndings(" ").Trim();

    // Only the recipient's domain goes to the log: the address is personal data, and the mail's link is a credential.
    private static string Domain(MimeMessage message) =>
        message.To.Mailboxes.FirstOrDefault()?.Domain is { Length: > 0 } domain ? domain : "(no recipient)";

    private static bool ChainsTo(X509Certificate? presented, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        // The host name must match whatever the roots; only the chain is judged against the given roots.
        if (presented is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    private static async Task DisconnectQuietlyAsync(SmtpClient client)
    {
        if (!client.IsConnected)
        {
            return;
        }

        try
        {
            using var quit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.DisconnectAsync(true, quit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (Transient(e))
        {
            // The connection is gone either way.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        // What is queued is written or sent first; a server that does not answer holds the stop for at most a few seconds.
        if (await Task.WhenAny(_loop, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false) != _loop)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            LogUnsent(_logger, _queue.Reader.Count);
        }

        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _perRecipient.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal mail to a recipient at {Domain}: the store could not count it against the address's mails of the last hour on every node ({Reason}); sent, as this node's own count allows it.")]
    private static partial void LogCountFailed(ILogger logger, string domain, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal mail to a recipient at {Domain} not sent: that address had its {Limit} mails of the last hour (a guard against using the portal to flood a mailbox).")]
    private static partial void LogLimited(ILogger logger, string domain, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal mail queue is full; a mail was dropped (is the mail server down?).")]
    private static partial void LogDropped(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cannot write a portal mail into {Directory}: {Reason}")]
    private static partial void LogFileFailed(ILogger logger, string directory, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal mail to a recipient at {Domain} refused by {Server} ({Status}): {Reason}. It is not sent.")]
    private static partial void LogRefused(ILogger logger, string domain, string server, int status, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Portal mail through {Server} failed: {Reason}. Trying again in {Seconds} s.")]
    private static partial void LogRetrying(ILogger logger, string server, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Portal mail to a recipient at {Domain} given up after {Attempts} attempts through {Server}: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, string domain, string server, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The portal stopped with {Count} mails not sent.")]
    private static partial void LogUnsent(ILogger logger, int count);
}
