using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// An https listener's certificate, read from its PEM files and read again when they change, so that a renewed certificate
/// (certbot, cert-manager, a mounted secret swapped by its symlink) is served to new connections without a restart; a
/// connection keeps the certificate it was opened with. The files are looked at by a new connection, at most once per
/// <see cref="CheckInterval"/> (the two files' times, sizes and link targets), never on a timer, so an idle listener does
/// nothing. A changed pair that does not load (half written, a key that is not the certificate's) leaves the served
/// certificate in place, with one warning, and is tried again at the next look. The whole chain in the certificate file
/// (the leaf, then its intermediates) is what a handshake sends.
/// </summary>
/// <remarks>
/// Written here because Kestrel's own reloading is for certificates named in its <c>IConfiguration</c> section
/// (<c>Kestrel:Certificates</c>), which Gatehouse's listeners are not, and its <c>UseHttps(X509Certificate2)</c> sends
/// only what the machine's stores can complete the chain with: the intermediates in the PEM file were not sent.
/// </remarks>
internal sealed partial class ListenerCertificate
{
    /// <summary>How often the files are looked at when nothing else is said.</summary>
    public static readonly TimeSpan DefaultCheckInterval = TimeSpan.FromSeconds(10);

    private static readonly ConcurrentDictionary<ListenerCertificate, byte> Live = new();

    static ListenerCertificate()
    {
        Observability.GatewayMetrics.Instance.CreateObservableGauge("gatehouse.listener.certificate.expiry",
            () => Live.Keys.Select(c => new Measurement<long>(c.NotAfter.ToUnixTimeSeconds(), new KeyValuePair<string, object?>("listener", c._listener))),
            "s", "When each https listener's certificate expires (Unix time, seconds), as served now");
    }

    private readonly string _listener;
    private readonly string _certFile;
    private readonly string _keyFile;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Runtime.LookGate _gate;
    private volatile Served _served;
    private Stamp _refused;

    /// <summary>Reads the certificate of the listener at <paramref name="listener"/>; throws when its files do not load, which stops the start.</summary>
    public ListenerCertificate(string listener, CertificateConfig files, TimeProvider time, ILogger logger, TimeSpan? checkInterval = null)
    {
        (_listener, _certFile, _keyFile, _time, _logger) = (listener, files.CertFile, files.KeyFile, time, logger);
        _gate = new Runtime.LookGate(time, checkInterval ?? DefaultCheckInterval);
        var stamp = Look();
        _served = Load(stamp);
        Live[this] = 0;
        WarnIfExpiring(_served.Leaf);
    }

    public TimeSpan CheckInterval => _gate.Interval;

    /// <summary>When the certificate served now expires.</summary>
    public DateTimeOffset NotAfter => _served.Leaf.NotAfter;

    /// <summary>The certificate served now (SHA-256 thumbprint), for tests and logs.</summary>
    public string Thumbprint => _served.Leaf.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256);

    /// <summary>The certificate and chain to hand a new connection: the current one, read again first if its files changed.</summary>
    public SslStreamCertificateContext ForNewConnection()
    {
        _gate.LookIfDue(Check);
        return _served.Context;
    }

    /// <summary>Stops reporting this certificate's expiry (its listener has closed).</summary>
    public void Retire() => Live.TryRemove(this, out _);

    private void Check()
    {
        Stamp stamp;
        try
        {
            stamp = Look();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogLookFailed(_logger, _listener, e.Message);
            return;
        }

        if (stamp == _served.Stamp || stamp == _refused)
        {
            return;
        }

        try
        {
            var loaded = Load(stamp);
            _served = loaded;
            _refused = default;
            LogReloaded(_logger, _listener, loaded.Leaf.Subject, loaded.Leaf.NotAfter.ToUniversalTime(), Thumbprint);
            WarnIfExpiring(loaded.Leaf);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            // Said once per state of the files; a renewal that is still being written is tried again at the next look.
            _refused = stamp;
            LogReloadFailed(_logger, _listener, _certFile, _keyFile, e.Message);
        }
    }

    private Served Load(Stamp stamp)
    {
        var leaf = X509Certificate2.CreateFromPemFile(_certFile, _keyFile);
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(_certFile);
        var intermediates = new X509Certificate2Collection(all.Where(c => c.Thumbprint != leaf.Thumbprint).ToArray());
        return new Served(SslStreamCertificateContext.Create(leaf, intermediates, offline: true), leaf, stamp);
    }

    private Stamp Look() => new(Runtime.FileStamp.Of(_certFile), Runtime.FileStamp.Of(_keyFile));

    private void WarnIfExpiring(X509Certificate2 leaf)
    {
        // NotAfter is local time, and "u" writes a 'Z' without converting: outside UTC the log said the wrong hour.
        var notAfter = leaf.NotAfter.ToUniversalTime();
        var left = new DateTimeOffset(notAfter) - _time.GetUtcNow();
        if (left < TimeSpan.FromDays(14))
        {
            LogExpiring(_logger, _listener, leaf.Subject, notAfter, Math.Max(0, left.TotalDays));
        }
    }

    private readonly record struct Stamp(Runtime.FileStamp Cert, Runtime.FileStamp Key);

    private sealed record Served(SslStreamCertificateContext Context, X509Certificate2 Leaf, Stamp Stamp);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listener {Listener}: its certificate files changed; now serving {Subject}, valid until {NotAfter:u} (SHA-256 {Thumbprint})")]
    private static partial void LogReloaded(ILogger logger, string listener, string subject, DateTime notAfter, string thumbprint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listener {Listener}: its certificate files changed but do not load ({Reason}); the certificate served before stays until {CertFile} and {KeyFile} load")]
    private static partial void LogReloadFailed(ILogger logger, string listener, string certFile, string keyFile, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listener {Listener}: its certificate files could not be looked at ({Reason}); the certificate served before stays")]
    private static partial void LogLookFailed(ILogger logger, string listener, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listener {Listener}: the certificate {Subject} expires at {NotAfter:u}, in {Days:0.#} days; renew its files (they are read again when they change)")]
    private static partial void LogExpiring(ILogger logger, string listener, string subject, DateTime notAfter, double days);
}
