using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Gatehouse.Management.Tests.Support;

/// <summary>
/// A real SMTP server (the SmtpServer package) on 127.0.0.1: STARTTLS with the given certificate (or TLS from the first
/// byte), login required when a user is given and only over TLS. It keeps every message it accepts, and a test can make
/// it answer a message with a refusal instead.
/// </summary>
internal sealed class TestSmtpServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    private TestSmtpServer(int port, SmtpServer.SmtpServer server)
    {
        Port = port;
        _running = server.StartAsync(_stop.Token);
    }

    public int Port { get; }

    /// <summary>Messages accepted, with whether the session was over TLS and who logged in.</summary>
    public ConcurrentQueue<(MimeMessage Message, bool Secure, string? User)> Received { get; } = new();

    /// <summary>Every DATA the server was offered, accepted or not.</summary>
    public int Offered => Volatile.Read(ref _offered);

    private int _offered;

    /// <summary>The answer to the n-th message offered (from 1), the recipients in hand; null accepts it.</summary>
    public Func<int, IReadOnlyList<string>, SmtpResponse?>? Answer { get; set; }

    public static TestSmtpServer Start(X509Certificate2? certificate, string? user = null, string? password = null, bool implicitTls = false)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(b =>
            {
                b.Endpoint(new IPEndPoint(IPAddress.Loopback, port)).IsSecure(implicitTls).AllowUnsecureAuthentication(false).AuthenticationRequired(user is not null);
                if (certificate is not null)
                {
                    b.Certificate(certificate);
                }
            })
            .Build();
        TestSmtpServer? self = null;
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Store(() => self!));
        services.Add(new Login(user, password));
        var server = new SmtpServer.SmtpServer(options, services);
        self = new TestSmtpServer(port, server);
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private sealed class Store(Func<TestSmtpServer> server) : MessageStore
    {
        public override Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            var self = server();
            var n = Interlocked.Increment(ref self._offered);
            var recipients = transaction.To.Select(m => $"{m.User}@{m.Host}").ToList();
            if (self.Answer?.Invoke(n, recipients) is { } refusal)
            {
                return Task.FromResult(refusal);
            }

            using var stream = new MemoryStream(buffer.ToArray());
            var user = context.Authentication.IsAuthenticated ? context.Authentication.User : null;
            self.Received.Enqueue((MimeMessage.Load(stream), context.Pipe.IsSecure, user));
            return Task.FromResult(SmtpResponse.Ok);
        }
    }

    private sealed class Login(string? user, string? password) : UserAuthenticator
    {
        public override Task<bool> AuthenticateAsync(ISessionContext context, string name, string secret, CancellationToken cancellationToken) =>
            Task.FromResult(user is not null && name == user && secret == password);
    }
}
