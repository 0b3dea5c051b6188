using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>One address the gateway listens on.</summary>
public sealed record ListenerConfig
{
    /// <summary><c>http://ADDRESS:PORT</c> or <c>https://ADDRESS:PORT</c>; ADDRESS is an IP literal, <c>localhost</c> or <c>*</c>. Required.</summary>
    [RequiredKey]
    public required string Url { get; init; }

    /// <summary>
    /// HTTP versions served. <c>http1AndHttp2</c> (default; over plain HTTP this is HTTP/1.1 only, because
    /// Kestrel cannot detect h2c on a plaintext port that also serves HTTP/1.1), <c>http1</c>, or <c>http2</c> (over plain HTTP: h2c with prior knowledge).
    /// </summary>
    public ListenerProtocols Protocols { get; init; } = ListenerProtocols.Http1AndHttp2;

    /// <summary>PEM certificate and key; required for <c>https</c> listeners. HTTP/2 is negotiated with ALPN.</summary>
    public CertificateConfig? Certificate { get; init; }
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
    /// <summary>Path to the PEM certificate (chain). Relative paths are relative to the config file.</summary>
    [RequiredKey]
    [FilePath]
    public required string CertFile { get; init; }

    /// <summary>Path to the PEM private key. Relative paths are relative to the config file.</summary>
    [RequiredKey]
    [FilePath]
    public required string KeyFile { get; init; }
}
