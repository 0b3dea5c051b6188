using System.Threading.Channels;
using MimeKit;

namespace Gatehouse.Management.Portal;

/// <summary>
/// Sends the portal's mails (password resets) off the request path: a bounded queue (dropped and counted when full,
/// never blocking a request) drained by one background loop that writes each message, built with MimeKit, as an
/// <c>.eml</c> file into the pickup directory. Because a request only enqueues, a reset for a known address takes as
/// long as one for an unknown address.
/// </summary>
internal sealed class PortalMail : IAsyncDisposable
{
    private readonly Channel<MimeMessage> _queue = Channel.CreateBounded<MimeMessage>(new BoundedChannelOptions(1000) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly string? _directory;
    private readonly Task _loop;
    private long _dropped;

    public PortalMail(string? directory)
    {
        _directory = directory;
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        _loop = Task.Run(DrainAsync);
    }

    /// <summary>Whether mails go anywhere.</summary>
    public bool Enabled => _directory is not null;

    /// <summary>Mails dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Send(string to, string subject, string text)
    {
        if (_directory is null)
        {
            return;
        }

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Developer portal", "portal@localhost"));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = text };
        if (!_queue.Writer.TryWrite(message))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task DrainAsync()
    {
        await foreach (var message in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // Written under another name and renamed, so a reader of the folder never sees half a message.
            var name = Path.Combine(_directory!, $"{DateTime.UtcNow:yyyyMMddTHHmmssfff}-{Guid.NewGuid():N}");
            await message.WriteToAsync(name + ".tmp").ConfigureAwait(false);
            File.Move(name + ".tmp", name + ".eml");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
