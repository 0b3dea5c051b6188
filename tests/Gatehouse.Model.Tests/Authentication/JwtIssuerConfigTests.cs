using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Authentication;

/// <summary>Binding and validation of <c>gateway.jwt.issuers</c> (issue "Service composition": JWT issuers).</summary>
public sealed class JwtIssuerConfigTests
{
    private static string WithIssuer(string body) => ConfigText.Minimal + "\ngateway:\n  jwt:\n    issuers:\n      login:\n" +
        string.Join("\n", body.Replace("\r\n", "\n").Split('\n').Select(l => l.Length == 0 ? l : "        " + l));

    private const string ValidUrlIssuer = """
        issuer: https://login.example.com/
        audiences: [https://api.example.com]
        jwksUrl: https://login.example.com/.well-known/jwks.json
        algorithms: [RS256, ES256]
        """;

    [Fact]
    public void Issuer_WithOnlyRequiredKeys_GetsDocumentedDefaults()
    {
        var config = ConfigText.Valid(WithIssuer(ValidUrlIssuer));

        var issuer = config.Gateway.Jwt.Issuers["login"];
        Assert.Equal("https://login.example.com/", issuer.Issuer);
        Assert.Equal(["https://api.example.com"], issuer.Audiences);
        Assert.Equal("https://login.example.com/.well-known/jwks.json", issuer.JwksUrl);
        Assert.Null(issuer.JwksFile);
        Assert.Equal(["RS256", "ES256"], issuer.Algorithms);
        Assert.Equal(TimeSpan.FromSeconds(30), issuer.ClockSkew);
        Assert.Equal(TimeSpan.FromMinutes(10), issuer.JwksRefresh);
        Assert.Null(issuer.ApplicationClaim);
    }

    [Fact]
    public void Issuer_WithEveryKey_BindsThemAndResolvesTheFileAgainstTheConfigDirectory()
    {
        using var dir = new TempDirectory();
        dir.File("jwks.json", """{"keys":[]}""");
        var config = ConfigText.Valid(WithIssuer("""
            issuer: https://login.example.com/
            audiences: [a, b]
            jwksFile: jwks.json
            algorithms: [PS256]
            clockSkew: 0s
            jwksRefresh: 1h
            applicationClaim: appid
            """), baseDirectory: dir.Path);

        var issuer = config.Gateway.Jwt.Issuers["login"];
        Assert.Equal(Path.Combine(dir.Path, "jwks.json"), issuer.JwksFile);
        Assert.Equal(["a", "b"], issuer.Audiences);
        Assert.Equal(TimeSpan.Zero, issuer.ClockSkew);
        Assert.Equal(TimeSpan.FromHours(1), issuer.JwksRefresh);
        Assert.Equal("appid", issuer.ApplicationClaim);
    }

    [Theory]
    [InlineData("HS256", "is not allowed")]
    [InlineData("none", "is not allowed")]
    [InlineData("rs256", "case-sensitive")]
    [InlineData("EdDSA", "not a supported algorithm")]
    public void Algorithm_NotPinnable_IsReportedAtItsIndex(string alg, string expected)
    {
        var error = ConfigText.SingleError(WithIssuer($"""
            issuer: https://login.example.com/
            audiences: [api]
            jwksUrl: https://login.example.com/jwks
            algorithms: [RS256, {alg}]
            """), "gateway.jwt.issuers.login.algorithms[1]");

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("audiences: [api]\njwksUrl: https://l/jwks", "gateway.jwt.issuers.login.algorithms")]
    [InlineData("algorithms: [RS256]\njwksUrl: https://l/jwks", "gateway.jwt.issuers.login.audiences")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]", "gateway.jwt.issuers.login.jwksUrl")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\njwksFile: /etc/hostname", "gateway.jwt.issuers.login.jwksFile")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: ftp://l/jwks", "gateway.jwt.issuers.login.jwksUrl")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksFile: does-not-exist.json", "gateway.jwt.issuers.login.jwksFile")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\nclockSkew: 6m", "gateway.jwt.issuers.login.clockSkew")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\nclockSkew: soon", "gateway.jwt.issuers.login.clockSkew")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\njwksRefresh: 5s", "gateway.jwt.issuers.login.jwksRefresh")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\napplicationClaim: ''", "gateway.jwt.issuers.login.applicationClaim")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\naudience: api", "gateway.jwt.issuers.login.audience")]
    public void Issuer_WithOneMistake_HasOneErrorAtItsPath(string body, string path)
    {
        var error = ConfigText.SingleError(WithIssuer("issuer: https://login.example.com/\n" + body), path);

        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Issuer_WithoutIssuer_IsRequired()
    {
        var error = ConfigText.SingleError(WithIssuer("""
            audiences: [api]
            jwksUrl: https://l/jwks
            algorithms: [RS256]
            """), "gateway.jwt.issuers.login.issuer");

        Assert.Contains("required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoIssuers_WithMistakes_AreAllReported()
    {
        var text = ConfigText.Minimal + """

            gateway:
              jwt:
                issuers:
                  a:
                    issuer: x
                    jwksUrl: https://l/jwks
                    algorithms: [HS256]
                  b:
                    issuer: y
                    audiences: [api]
                    jwksUrl: https://l/jwks
                    algorithms: [RS256]
                    clockSkew: 1h
            """;

        var result = ConfigText.Load(text);

        Assert.Equal(
            ["gateway.jwt.issuers.a.algorithms[0]", "gateway.jwt.issuers.a.audiences", "gateway.jwt.issuers.b.clockSkew"],
            result.Errors.Select(e => e.Path).Order(StringComparer.Ordinal));
    }
}
