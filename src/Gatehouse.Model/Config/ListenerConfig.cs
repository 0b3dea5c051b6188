using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>One address the gateway listens on.</summary>
public sealed record ListenerConfig
{
    /// <summary>
    /// <c>http://ADDRESS:PORT</c> or <c>https://ADDRESS:PORT</c>; ADDRESS is an IP literal, <c>localhost</c> or
    /// <c>*</c>.
    /// </summary>
    [RequiredKey]
    public required string Url { get; init; }

    /// <summary>
    /// With TLS, HTTP/2 is negotiated by ALPN. Without TLS, <c>http1AndHttp2</c> serves HTTP/1.1 (Kestrel cannot tell
    /// h2c from HTTP/1.1 on one plaintext port) and <c>http2</c> serves h2c with prior knowledge.
    /// </summary>
    public ListenerProtocols Protocols { get; init; } = ListenerProtocols.Http1AndHttp2;

    /// <summary>
    /// PEM certificate and private key; required for <c>https</c> listeners. The certificate file holds the certificate
    /// and then its intermediates (a <c>fullchain.pem</c>), all sent in the handshake. Both files are read again when they
    /// change (a new connection looks at them at most every 10 s), so a renewed certificate is served without a restart;
    /// a pair that does not load leaves the current one, with a warning.
    /// </summary>
    public CertificateConfig? Certificate { get; init; }

    /// <summary>
    /// Ask clients for a TLS client certificate (https listeners only), so that applications can authenticate with one
    /// (<c>applications.*.certificates</c>). A client may still connect without one and use another credential. A
    /// certificate that does not chain to <c>caFile</c> does not end the handshake: it authenticates nobody, so the
    /// request gets the same 401 as any other failed credential. Its settings are read when the listener starts.
    /// </summary>
    [DefaultText("off: no certificate is asked for")]
    public ClientCertificatesConfig? ClientCertificates { get; init; }

    /// <summary>
    /// The listener is behind a TCP load balancer that sends the PROXY protocol (HAProxy's <c>send-proxy</c> or
    /// <c>send-proxy-v2</c>, AWS NLB's proxy protocol v2, nginx's <c>proxy_protocol on</c> in a stream block). Every
    /// connection must come from an address in <c>gateway.trustedProxies</c> and start with a version 1 or 2 header; the
    /// client address it carries is then the connection's for limits, IP filters, logs and <c>X-Forwarded-For</c>. Other
    /// connections are closed (and counted in <c>gatehouse_listener_proxy_protocol_refused_total</c>). On an https listener
    /// the header comes before the TLS handshake. Read when the listener starts.
    /// </summary>
    public bool ProxyProtocol { get; init; }

    /// <summary>
    /// An http listener that only sends clients to https: every request is answered 308 with the same host, path and
    /// query at <c>https://HOST[:PORT]</c>, PORT being this value (left out when 443). Not redirected: the health path
    /// (<c>gateway.healthPath</c>), and ACME HTTP-01 challenges (<c>/.well-known/acme-challenge/…</c>), which are routed as
    /// usual so that a route can serve them. Read when the listener starts.
    /// </summary>
    [DefaultText("off")]
    public int? RedirectToHttps { get; init; }
}

/// <summary>Which client certificates a listener trusts.</summary>
public sealed record ClientCertificatesConfig
{
    /// <summary>
    /// PEM file of the CA certificates that client certificates must chain to (the intermediates the client sends are
    /// used to build the chain). Without `crlFile`, revocation is not checked: remove a certificate from its application
    /// to revoke it. Read again when it changes (looked at by new connections, at most every 10 s): rotate a CA by adding
    /// the new one beside the old, then removing the old. A file that holds no certificate leaves the CA in use, with a
    /// warning.
    /// </summary>
    [RequiredKey("the PEM file of the CA client certificates must chain to")]
    [FilePath]
    public required string CaFile { get; init; }

    /// <summary>
    /// File of the certificate revocation lists (PEM or DER, one or several) of the CAs that issue client certificates: a
    /// certificate a list revokes authenticates nobody. Read from this file only, never fetched from a CA. Every CA in a
    /// client's chain (the root's list covers the intermediates it issued) must have a list here whose signature checks
    /// out and whose `nextUpdate` has not passed, or its certificates authenticate nobody (fail closed, with a warning):
    /// replace the file before the lists fall due. Read again when it changes, as `caFile` is; a change that does not load
    /// leaves the lists in use, with a warning. Delta lists and lists with an issuing distribution point are refused.
    /// </summary>
    [FilePath]
    public string? CrlFile { get; init; }
}

/// <summary>HTTP versions a listener serves.</summary>
public enum ListenerProtocols
{
    /// <summary>HTTP/1.1, and HTTP/2 when negotiated with TLS ALPN.</summary>
    Http1AndHttp2,
    /// <summary>HTTP/1.1 only.</summary>
    Http1,
    /// <summary>HTTP/2 only (h2c with prior knowledge on plain HTTP).</summary>
    Http2,
}

/// <summary>A certificate and its private key in PEM files.</summary>
public sealed record CertificateConfig
{
    /// <summary>The PEM certificate (chain).</summary>
    [RequiredKey]
    [FilePath]
    public required string CertFile { get; init; }

    /// <summary>The PEM private key.</summary>
    [RequiredKey]
    [FilePath]
    public required string KeyFile { get; init; }
}
