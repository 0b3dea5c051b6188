using System.Security.Cryptography.X509Certificates;
using Gatehouse.Gateway.Runtime;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// The CA certificates one listener's clients must chain to (<c>gateway.listeners[].clientCertificates.caFile</c>). The
/// file is read when the listener starts and again when it changes (a CA rotated by adding the new one beside the old,
/// then removing the old), looked at by a new connection at most once per check interval, as the listener's own
/// certificate is; a connection keeps the CA it was opened with. A changed file that holds no certificate leaves the CA
/// in place, with one warning. With <c>crlFile</c>, the CAs' revocation lists (<see cref="RevocationLists"/>) are read and
/// looked at again the same way, and a certificate one of them revokes authenticates nobody; without it, a certificate is
/// withdrawn by removing it from its application, which a reload applies.
/// </summary>
internal sealed partial class ClientCertificateAuthority
{
    private static readonly System.Security.Cryptography.Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly string _caFile;
    private readonly string? _crlFile;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LookGate _gate;
    private volatile Roots _roots;
    private (FileStamp Ca, FileStamp Crl) _refused;

    /// <summary>
    /// Reads <paramref name="caFile"/> and <paramref name="crlFile"/>; throws <see cref="InvalidDataException"/> (saying what
    /// to write) when the CA file holds no PEM certificate or the CRL file does not load, which stops the start.
    /// </summary>
    public ClientCertificateAuthority(string caFile, TimeProvider time, ILogger? logger = null, TimeSpan? checkInterval = null, string? crlFile = null)
    {
        (_caFile, _crlFile, _time, _logger) = (caFile, crlFile, time, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        _gate = new LookGate(time, checkInterval ?? Hosting.ListenerCertificate.DefaultCheckInterval);
        var stamp = FileStamp.Of(caFile);
        var certificates = Load(caFile) ?? throw new InvalidDataException($"'{caFile}' holds no PEM certificate; write the CA certificates client certificates must chain to.");
        FileStamp crlStamp = default;
        RevocationLists? lists = null;
        if (crlFile is not null)
        {
            crlStamp = FileStamp.Of(crlFile);
            lists = RevocationLists.Load(crlFile, certificates);
        }

        _roots = new Roots(certificates, stamp, lists, crlStamp);
    }

    /// <summary>What a new connection's client certificate is checked against: the files', read again first if they changed.</summary>
    public Roots ForNewConnection()
    {
        _gate.LookIfDue(Check);
        return _roots;
    }

    /// <summary>
    /// True when <paramref name="certificate"/> chains to one of <paramref name="roots"/>, using the intermediates the
    /// client sent (<paramref name="presented"/>'s extra store), is within its validity period and, when it names its
    /// uses, allows client authentication.
    /// </summary>
    public bool Trusts(Roots roots, X509Certificate2 certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots.Certificates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuth);
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        if (!chain.Build(certificate))
        {
            return false;
        }

        if (roots.Revocations?.Refuses(chain, _time.GetUtcNow()) is { } refusal)
        {
            // Per connection, so not above Debug for a revoked certificate; a CA without a current list refuses every
            // client of that CA, which an operator must hear about, once per state of the files.
            if (!refusal.WholeCa)
            {
                LogRevoked(_logger, refusal.Reason);
            }
            else if (Interlocked.Exchange(ref roots.Warned, 1) == 0)
            {
                LogNoCurrentList(_logger, refusal.Reason);
            }

            return false;
        }

        return true;
    }

    private void Check()
    {
        FileStamp stamp;
        FileStamp crlStamp = default;
        var looking = _caFile;
        try
        {
            stamp = FileStamp.Of(_caFile);
            if (_crlFile is not null)
            {
                looking = _crlFile;
                crlStamp = FileStamp.Of(_crlFile);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogLookFailed(_logger, looking, e.Message);
            return;
        }

        var current = _roots;
        if ((stamp == current.Stamp && crlStamp == current.CrlStamp) || (stamp, crlStamp) == _refused)
        {
            return;
        }

        string reason;
        var failed = _caFile;
        try
        {
            var certificates = stamp == current.Stamp ? current.Certificates : Load(_caFile);
            if (certificates is not null)
            {
                failed = _crlFile ?? _caFile;
                var lists = _crlFile is null ? null : RevocationLists.Load(_crlFile, certificates);
                _roots = new Roots(certificates, stamp, lists, crlStamp);
                _refused = default;
                if (stamp != current.Stamp)
                {
                    LogReloaded(_logger, _caFile, certificates.Count, string.Join(", ", certificates.Select(c => c.Subject)));
                }

                if (_crlFile is not null && crlStamp != current.CrlStamp)
                {
                    LogListsReloaded(_logger, _crlFile, lists!.Count);
                }

                return;
            }

            reason = "it holds no PEM certificate";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or InvalidDataException)
        {
            reason = e.Message;
        }

        // Said once per state of the files; one still being written is tried again at the next look.
        _refused = (stamp, crlStamp);
        LogReloadFailed(_logger, failed, reason);
    }

    private static X509Certificate2Collection? Load(string caFile)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(caFile);
        return certificates.Count == 0 ? null : certificates;
    }

    /// <summary>One state of the files: the CA certificates, and the revocation lists when there is a CRL file.</summary>
    internal sealed record Roots(X509Certificate2Collection Certificates, FileStamp Stamp, RevocationLists? Revocations, FileStamp CrlStamp)
    {
        // Set once the missing or out-of-date list of a CA has been logged for this state of the files.
        public int Warned;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Client certificates' CA file {CaFile} changed; new connections are checked against its {Count} certificates ({Subjects})")]
    private static partial void LogReloaded(ILogger logger, string caFile, int count, string subjects);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client certificates' CRL file {CrlFile} changed; new connections are checked against its {Count} revocation lists")]
    private static partial void LogListsReloaded(ILogger logger, string crlFile, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A client certificate authenticates nobody: {Reason}. Every client of that CA is refused until the CRL file holds its current list")]
    private static partial void LogNoCurrentList(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A client certificate authenticates nobody: {Reason}")]
    private static partial void LogRevoked(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client certificates' file {CaFile} changed but does not load ({Reason}); the CA and lists read before stay until it loads")]
    private static partial void LogReloadFailed(ILogger logger, string caFile, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client certificates' CA file {CaFile} could not be looked at ({Reason}); the CA read before stays")]
    private static partial void LogLookFailed(ILogger logger, string caFile, string reason);
}
