using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Gateway.Tests.TestSupport;

/// <summary>A certificate issued by <see cref="TestPki"/>: its PEM files, the certificate with its key, and the intermediates between it and the root.</summary>
internal sealed record IssuedCertificate(string CertFile, string KeyFile, X509Certificate2 Certificate, X509Certificate2Collection Intermediates);
