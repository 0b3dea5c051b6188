using System.Security.Cryptography.X509Certificates;
using Gatehouse.Gateway.Runtime;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// The CA certificates one listener's clients must chain to (<c>gateway.listeners[].clientCertificates.caFile</c>). The
/// file is read when the listener starts and again when it changes (a CA rotated by adding the new one beside the old,
/// then removing the old), looked at by a new connection at most once per check interval, as the listener's own
/// certificate is; a connection keeps the CA it was opened with. A changed file that holds no certificate leaves the CA
/// in place, with one warning. Revocation is not checked; a certificate is withdrawn by removing it from its application,
/// which a reload applies.
/// </summary>
internal sealed partial class ClientCertificateAuthority
{
    private static readonly System.Security.Cryptography.Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly string _caFile;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LookGate _gate;
    private volatile Roots _roots;
    private FileStamp _refused;

    /// <summary>Reads <paramref name="caFile"/>; throws when it holds no PEM certificate, which stops the start.</summary>
    public ClientCertificateAuthority(string caFile, TimeProvider time, ILogger? logger = null, TimeSpan? checkInterval = null)
    {
        (_caFile, _time, _logger) = (caFile, time, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        _gate = new LookGate(time, checkInterval ?? Hosting.ListenerCertificate.DefaultCheckInterval);
        var stamp = FileStamp.Of(caFile);
        _roots = new Roots(Load(caFile) ?? throw new InvalidOperationException($"'{caFile}' holds no PEM certificate; write the CA certificates client certificates must chain to."), stamp);
    }

    /// <summary>The CA certificates a new connection's client certificate is checked against: the file's, read again first if it changed.</summary>
    public X509Certificate2Collection ForNewConnection()
    {
        _gate.LookIfDue(Check);
        return _roots.Certificates;
    }

    /// <summary>
    /// True when <paramref name="certificate"/> chains to one of <paramref name="roots"/>, using the intermediates the
    /// client sent (<paramref name="presented"/>'s extra store), is within its validity period and, when it names its
    /// uses, allows client authentication.
    /// </summary>
    public bool Trusts(X509Certificate2Collection roots, X509Certificate2 certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuth);
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        return chain.Build(certificate);
    }

    private void Check()
    {
        FileStamp stamp;
        try
        {
            stamp = FileStamp.Of(_caFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogLookFailed(_logger, _caFile, e.Message);
            return;
        }

        if (stamp == _roots.Stamp || stamp == _refused)
        {
            return;
        }

        string reason;
        try
        {
            if (Load(_caFile) is { } certificates)
            {
                _roots = new Roots(certificates, stamp);
                _refused = default;
                LogReloaded(_logger, _caFile, certificates.Count, string.Join(", ", certificates.Select(c => c.Subject)));
                return;
            }

            reason = "it holds no PEM certificate";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            reason = e.Message;
        }

        // Said once per state of the file; one still being written is tried again at the next look.
        _refused = stamp;
        LogReloadFailed(_logger, _caFile, reason);
    }

    private static X509Certificate2Collection? Load(string caFile)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(caFile);
        return certificates.Count == 0 ? null : certificates;
    }

    private sealed record Roots(X509Certificate2Collection Certificates, FileStamp Stamp);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client certificates' CA file {CaFile} changed; new connections are checked against its {Count} certificates ({Subjects})")]
    private static partial void LogReloaded(ILogger logger, string caFile, int count, string subjects);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client certificates' CA file {CaFile} changed but does not load ({Reason}); the CA read before stays until it loads")]
    private static partial void LogReloadFailed(ILogger logger, string caFile, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client certificates' CA file {CaFile} could not be looked at ({Reason}); the CA read before stays")]
    private static partial void LogLookFailed(ILogger logger, string caFile, string reason);
}
