using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Upstreams;

/// <summary>Builds the proxy-safe <see cref="SocketsHttpHandler"/> of one service.</summary>
internal static class UpstreamHandlerFactory
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    public static HttpMessageInvoker Create(ServiceConfig config)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = config.ConnectTimeout,
            // The gateway passes the client's traceparent on unchanged; it does not inject its own.
            ActivityHeadersPropagator = null,
            // No PooledConnectionLifetime (it was DnsRefresh): DnsDestinationResolver resolves names itself and
            // every destination connects to one IP, so a pooled connection never points at a stale answer. An IP
            // that leaves the answer gets no new requests, and its connections close after
            // PooledConnectionIdleTimeout (1 minute by default). Recycling healthy connections on a timer would
            // only add handshakes. (It would rebalance connections behind one virtual IP, a Kubernetes Service
            // say; if that is wanted it should be its own setting, not a side effect of dnsRefresh.)
        };

        // Per connection pool, and the handler keeps one pool per (address, port, TLS name): per destination, so
        // per resolved IP for targets given by DNS name.
        if (config.MaxConnectionsPerTarget is { } max)
        {
            handler.MaxConnectionsPerServer = max;
        }

        if (config.Tls is { } tls)
        {
            ConfigureTls(handler.SslOptions, tls);
        }

        Debug.Assert(handler.UseProxy == false);
        return new HttpMessageInvoker(handler, disposeHandler: true);
    }

    /// <summary>
    /// Applies a service's TLS settings. Server certificates are always verified: against <c>caFile</c> when it
    /// is set, else against the system store (the handler's default). There is deliberately no way to skip it.
    /// </summary>
    internal static void ConfigureTls(SslClientAuthenticationOptions ssl, UpstreamTlsConfig tls)
    {
        if (tls.CaFile is { } caFile)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(caFile);
            if (roots.Count == 0)
            {
                throw new InvalidOperationException($"tls.caFile '{caFile}' holds no PEM certificate ('-----BEGIN CERTIFICATE-----').");
            }

            ssl.RemoteCertificateValidationCallback = (_, certificate, presented, errors) => IsTrustedBy(roots, certificate, presented, errors);
        }

        if (tls.ClientCertificate is { } client)
        {
            var certificate = LoadClientCertificate(client.CertFile, client.KeyFile, out var intermediates);
            ssl.ClientCertificates = [certificate];
            // The context, when set, is what SslStream presents: always (the collection above is matched against
            // the CA names the server asks for, and sends nothing when none match) and with the intermediates of
            // the PEM file, which the server may need to build the chain to the CA it trusts.
            ssl.ClientCertificateContext = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
        }
    }

    /// <summary>
    /// The server certificate check with <paramref name="roots"/> as the only trust anchors. The name check
    /// (against the Host header's name, see <see cref="Destination"/>) stays SslStream's: any error other than
    /// "chain not trusted" fails. The chain is rebuilt with the certificates the server sent as intermediates.
    /// </summary>
    internal static bool IsTrustedBy(X509Certificate2Collection roots, X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 leaf || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(roots);
        // Same as SslStream's own check: the certificate must be meant for a TLS server, and revocation is not
        // checked (the handler's default; private CAs rarely publish CRLs, and a fetch would stall handshakes).
        policy.ApplicationPolicy.Add(ServerAuthentication);
        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        if (presented is not null)
        {
            policy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        return chain.Build(leaf);
    }

    private static X509Certificate2 LoadClientCertificate(string certFile, string keyFile, out X509Certificate2Collection intermediates)
    {
        var certificate = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        if (OperatingSystem.IsWindows())
        {
            // SChannel cannot use the ephemeral key CreateFromPemFile makes; a PKCS#12 round trip persists it.
            certificate = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
        }

        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(certFile);
        intermediates = [];
        foreach (var c in all)
        {
            if (!c.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
            {
                intermediates.Add(c);
            }
        }

        return certificate;
    }
}
