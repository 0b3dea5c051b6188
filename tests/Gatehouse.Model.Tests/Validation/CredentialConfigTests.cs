using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Validation;

/// <summary>Issue 23: Basic users, client certificates and introspection that cannot work are refused at load, with their path.</summary>
[Trait("Issue", "23")]
public sealed class CredentialConfigTests
{
    private const string Hash = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    private static IReadOnlyList<string> Errors(string applications, string gateway = "{}") => [.. ConfigLoader.Load($$"""
        version: 1
        gateway: {{gateway}}
        services:
          api: { targets: [http://127.0.0.1:9] }
        routes:
          items: { methods: [GET], path: "/items/{id}", service: api }
        plans:
          retail: { include: [ { route: items } ] }
        accounts: { acme: {} }
        applications: {{applications}}
        """, Path.GetTempPath()).Errors.Select(e => e.ToString())];

    [Theory]
    [InlineData("{ a: { account: acme, plan: retail, basic: [ { username: \"x:y\", sha256: " + Hash + " } ] } }", "applications.a.basic[0].username")]
    [InlineData("{ a: { account: acme, plan: retail, basic: [ { username: erp, sha256: ABC } ] } }", "applications.a.basic[0].sha256")]
    [InlineData("{ a: { account: acme, plan: retail, basic: [ { username: erp, sha256: " + Hash + " } ] }, b: { account: acme, plan: retail, basic: [ { username: erp, sha256: " + Hash + " } ] } }", "applications.b.basic[0].username")]
    [InlineData("{ a: { account: acme, plan: retail, certificates: [ { thumbprint: abc } ] } }", "applications.a.certificates[0].thumbprint")]
    [InlineData("{ a: { account: acme, plan: retail, certificates: [ { subject: \"CN=erp\" } ] } }", "applications.a.certificates[0]")]
    [InlineData("{ a: { account: acme, plan: retail, certificates: [ { thumbprint: " + Hash + ", subject: \"CN=erp\", issuer: \"CN=ca\" } ] } }", "applications.a.certificates[0]")]
    [InlineData("{ a: { account: acme, plan: retail, certificates: [ { subject: \"erp\", issuer: \"CN=ca\" } ] } }", "applications.a.certificates[0].subject")]
    [InlineData("{ a: { account: acme, plan: retail, certificates: [ { thumbprint: " + Hash + " } ] }, b: { account: acme, plan: retail, certificates: [ { thumbprint: \"" + "2C:26:B4:6B:68:FF:C6:8F:F9:9B:45:3C:1D:30:41:34:13:42:2D:70:64:83:BF:A0:F9:8A:5E:88:62:66:E7:AE" + "\" } ] } }", "applications.b.certificates[0]")]
    public void CredentialThatCannotWork_IsRefusedAtLoad_WithItsPath(string applications, string path)
    {
        var errors = Errors(applications);

        Assert.Contains(errors, e => e.StartsWith(path + ":", StringComparison.Ordinal) || e.StartsWith(path + " ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{ listeners: [ { url: \"http://127.0.0.1:0\", clientCertificates: { caFile: /etc/hostname } } ] }", "gateway.listeners[0].clientCertificates")]
    [InlineData("{ introspection: { url: \"ftp://auth.example.com/introspect\" } }", "gateway.introspection.url")]
    [InlineData("{ introspection: { url: \"https://auth.example.com/introspect\", issuer: \"\" } }", "gateway.introspection.issuer")]
    [InlineData("{ introspection: { url: \"https://auth.example.com/introspect\", issuer: \"auth server\" } }", "gateway.introspection.issuer")]
    [InlineData("{ introspection: { url: \"https://auth.example.com/introspect\", issuer: \"https://auth example.com/\" } }", "gateway.introspection.issuer")]
    public void GatewayCredentialSettingThatCannotWork_IsRefusedAtLoad_WithItsPath(string gateway, string path)
    {
        var errors = Errors("{}", gateway);

        Assert.Contains(errors, e => e.StartsWith(path + ":", StringComparison.Ordinal) || e.StartsWith(path + " ", StringComparison.Ordinal));
    }

    [Fact]
    public void WellFormedCredentials_Load()
    {
        var errors = Errors("{ a: { account: acme, plan: retail, basic: [ { username: erp, sha256: " + Hash + " } ], certificates: [ { thumbprint: " + Hash + " }, { subject: \"CN=erp, O=Acme\", issuer: \"CN=Acme CA\" } ] } }",
            "{ introspection: { url: \"https://auth.example.com/introspect\", audience: shop, issuer: \"https://auth.example.com/\" } }");

        Assert.Empty(errors);
    }
}
