using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Authentication;

/// <summary>Binding and validation of <c>jwtIssuers</c> (issue "Service composition": JWT issuers).</summary>
public sealed class JwtIssuerConfigTests
{
    private static string WithIssuer(string body) => ConfigText.Minimal + "\njwtIssuers:\n  login:\n" +
        string.Join("\n", body.Replace("\r\n", "\n").Split('\n').Select(l => l.Length == 0 ? l : "    " + l));

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

        var issuer = config.JwtIssuers["login"];
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

        var issuer = config.JwtIssuers["login"];
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
            """), "jwtIssuers.login.algorithms[1]");

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("audiences: [api]\njwksUrl: https://l/jwks", "jwtIssuers.login.algorithms")]
    [InlineData("algorithms: [RS256]\njwksUrl: https://l/jwks", "jwtIssuers.login.audiences")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]", "jwtIssuers.login.jwksUrl")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\njwksFile: /etc/hostname", "jwtIssuers.login.jwksFile")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: ftp://l/jwks", "jwtIssuers.login.jwksUrl")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksFile: does-not-exist.json", "jwtIssuers.login.jwksFile")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\nclockSkew: 6m", "jwtIssuers.login.clockSkew")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\nclockSkew: soon", "jwtIssuers.login.clockSkew")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\njwksRefresh: 5s", "jwtIssuers.login.jwksRefresh")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\napplicationClaim: ''", "jwtIssuers.login.applicationClaim")]
    [InlineData("audiences: [api]\nalgorithms: [RS256]\njwksUrl: https://l/jwks\naudience: api", "jwtIssuers.login.audience")]
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
            """), "jwtIssuers.login.issuer");

        Assert.Contains("required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoIssuers_WithMistakes_AreAllReported()
    {
        var text = ConfigText.Minimal + """

            jwtIssuers:
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
            ["jwtIssuers.a.algorithms[0]", "jwtIssuers.a.audiences", "jwtIssuers.b.clockSkew"],
            result.Errors.Select(e => e.Path).Order(StringComparer.Ordinal));
    }
}
