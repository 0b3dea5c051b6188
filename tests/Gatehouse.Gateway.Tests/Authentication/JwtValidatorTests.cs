using Gatehouse.Gateway.Authentication;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Tests.Authentication;

/// <summary>
/// The JWT corpus of the "Service composition" issue: every hostile or broken token is refused with its reason
/// (callers answer each with 401 <c>invalid_token</c>), and good RS256, PS256 and ES256 tokens name their application.
/// </summary>
public sealed class JwtValidatorTests : IAsyncLifetime
{
    private readonly SigningKey _rsa = SigningKey.Rsa("rsa-1");
    private readonly SigningKey _ps = SigningKey.Rsa("ps-1", "PS256");
    private readonly SigningKey _ec = SigningKey.Ec("ec-1");
    private readonly SigningKey _attacker = SigningKey.Rsa("rsa-1"); // same kid as the real key, different key
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"gatehouse-jwks-{Guid.NewGuid():N}.json");
    private ValidatorSetup _setup = null!;

    private DateTimeOffset Now => _setup.Now;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_file, SigningKey.Jwks(_rsa, _ps, _ec));
        _setup = await ValidatorSetup.StartAsync(ValidatorSetup.Config(file: _file));
    }

    public async Task DisposeAsync()
    {
        await _setup.DisposeAsync();
        File.Delete(_file);
        foreach (var key in new[] { _rsa, _ps, _ec, _attacker })
        {
            key.Dispose();
        }
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ps")]
    [InlineData("ec")]
    public async Task ValidToken_EachPinnedAlgorithm_IsAcceptedWithItsApplication(string which)
    {
        var key = which switch { "rsa" => _rsa, "ps" => _ps, _ => _ec };
        var claims = Jws.Claims(Now);

        var result = await _setup.ValidateAsync(Jws.Sign(key, claims));

        Assert.True(result.Succeeded, result.FailureCode);
        Assert.Null(result.FailureCode);
        Assert.Equal("login", result.IssuerName);
        Assert.Equal("shop-app", result.ApplicationId);
        Assert.Equal("user-42", result.Subject);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds((long)claims["exp"]!), result.Expires);
    }

    [Fact]
    public async Task AlgNone_IsRefused()
    {
        Assert.Equal("algorithm-not-allowed", await _setup.FailureAsync(Jws.Unsigned(Jws.Claims(Now), kid: "rsa-1")));
    }

    [Fact]
    public async Task Hs256_SignedWithTheRsaPublicKey_IsRefused()
    {
        // The classic key-confusion attack: the attacker knows the public key and uses it as an HMAC secret.
        var header = new Dictionary<string, object?> { ["alg"] = "HS256", ["typ"] = "JWT", ["kid"] = "rsa-1" };

        Assert.Equal("algorithm-not-allowed", await _setup.FailureAsync(Jws.Hs256(_rsa.PublicKeyPem(), header, Jws.Claims(Now))));
    }

    [Fact]
    public async Task AlgorithmNotPinned_EvenIfTheSignatureIsGood_IsRefused()
    {
        await using var setup = await ValidatorSetup.StartAsync(ValidatorSetup.Config(file: _file) with { Algorithms = ["ES256"] });

        Assert.Equal("algorithm-not-allowed", await setup.FailureAsync(Jws.Sign(_rsa, Jws.Claims(setup.Now))));
        Assert.True((await setup.ValidateAsync(Jws.Sign(_ec, Jws.Claims(setup.Now)))).Succeeded);
    }

    [Fact]
    public async Task Expired_IsRefused()
    {
        var claims = Jws.Claims(Now);
        claims["exp"] = Now.AddMinutes(-1).ToUnixTimeSeconds();
        claims["nbf"] = Now.AddMinutes(-10).ToUnixTimeSeconds();

        Assert.Equal("expired", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Fact]
    public async Task NotYetValid_IsRefused()
    {
        var claims = Jws.Claims(Now);
        claims["nbf"] = Now.AddMinutes(1).ToUnixTimeSeconds();

        Assert.Equal("not-yet-valid", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Fact]
    public async Task NoExpiry_IsRefused()
    {
        var claims = Jws.Claims(Now);
        claims.Remove("exp");

        Assert.Equal("malformed", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Theory]
    [InlineData("https://evil.example.test/")]
    [InlineData("https://login.example.test")] // no trailing slash: iss is compared exactly
    public async Task WrongIssuer_IsRefused(string iss)
    {
        var claims = Jws.Claims(Now);
        claims["iss"] = iss;

        Assert.Equal("wrong-issuer", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Fact]
    public async Task WrongAudience_IsRefused()
    {
        var claims = Jws.Claims(Now);
        claims["aud"] = "https://someone-else.example.test";

        Assert.Equal("wrong-audience", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Fact]
    public async Task AudienceList_NamingOneConfiguredAudience_IsAccepted()
    {
        var claims = Jws.Claims(Now);
        claims["aud"] = new[] { "https://someone-else.example.test", "https://other.example.test" };

        Assert.True((await _setup.ValidateAsync(Jws.Sign(_rsa, claims))).Succeeded);
    }

    [Fact]
    public async Task UnknownKid_IsRefused()
    {
        using var stranger = SigningKey.Rsa("rsa-999");

        Assert.Equal("unknown-key", await _setup.FailureAsync(Jws.Sign(stranger, Jws.Claims(Now))));
    }

    [Fact]
    public async Task NoKid_IsRefused()
    {
        var header = new Dictionary<string, object?> { ["alg"] = "RS256", ["typ"] = "JWT" };

        Assert.Equal("unknown-key", await _setup.FailureAsync(Jws.Sign(_rsa, Jws.Claims(Now), header)));
    }

    [Fact]
    public async Task BadSignature_KnownKidButAnotherKey_IsRefused()
    {
        Assert.Equal("bad-signature", await _setup.FailureAsync(Jws.Sign(_attacker, Jws.Claims(Now))));
    }

    [Fact]
    public async Task BadSignature_PayloadChangedAfterSigning_IsRefused()
    {
        var token = Jws.Sign(_rsa, Jws.Claims(Now)).Split('.');
        var claims = Jws.Claims(Now);
        claims["azp"] = "admin-app";
        var tampered = $"{token[0]}.{Jws.B64(System.Text.Json.JsonSerializer.Serialize(claims))}.{token[2]}";

        Assert.Equal("bad-signature", await _setup.FailureAsync(tampered));
    }

    [Fact]
    public async Task EmbeddedJwkHeader_WithTheAttackersKey_IsNotTrusted()
    {
        var header = Jws.Header(_attacker);
        header["jwk"] = _attacker.PublicJwk();

        Assert.Equal("bad-signature", await _setup.FailureAsync(Jws.Sign(_attacker, Jws.Claims(Now), header)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.!!!.sig")]
    public async Task Malformed_IsRefused(string token)
    {
        Assert.Equal("malformed", await _setup.FailureAsync(token));
    }

    [Fact]
    public async Task HugeToken_IsRefusedUnparsed()
    {
        var claims = Jws.Claims(Now);
        claims["pad"] = new string('x', JwtValidator.MaxTokenLength);

        Assert.Equal("malformed", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Fact]
    public async Task NoAzp_FallsBackToClientId()
    {
        var claims = Jws.Claims(Now);
        claims.Remove("azp");
        claims["client_id"] = "mobile-app";

        Assert.Equal("mobile-app", (await _setup.ValidateAsync(Jws.Sign(_rsa, claims))).ApplicationId);
    }

    [Fact]
    public async Task NoApplicationClaim_IsRefused()
    {
        var claims = Jws.Claims(Now);
        claims.Remove("azp");

        Assert.Equal("no-application-claim", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Fact]
    public async Task ClientId_NotAString_IsRefused()
    {
        var claims = Jws.Claims(Now);
        claims.Remove("azp");
        claims["client_id"] = 12345;

        Assert.Equal("no-application-claim", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Fact]
    public async Task Azp_NotAString_IsRefusedAsMalformed()
    {
        // azp is a registered claim that the token parser itself types as a string.
        var claims = Jws.Claims(Now);
        claims["azp"] = new[] { "a", "b" };

        Assert.Equal("malformed", await _setup.FailureAsync(Jws.Sign(_rsa, claims)));
    }

    [Fact]
    public async Task ConfiguredApplicationClaim_IsTheOnlyOneRead()
    {
        await using var setup = await ValidatorSetup.StartAsync(ValidatorSetup.Config(file: _file) with { ApplicationClaim = "appid" });
        var claims = Jws.Claims(setup.Now);

        Assert.Equal("no-application-claim", await setup.FailureAsync(Jws.Sign(_rsa, claims)));

        claims["appid"] = "billing";
        Assert.Equal("billing", (await setup.ValidateAsync(Jws.Sign(_rsa, claims))).ApplicationId);
    }

    [Theory]
    [InlineData(29, true)]
    [InlineData(30, false)]
    [InlineData(31, false)]
    public async Task Expiry_IsToleratedOnlyWithinTheClockSkew(int secondsAfterExp, bool accepted)
    {
        var claims = Jws.Claims(Now);
        claims["exp"] = Now.ToUnixTimeSeconds();
        var token = Jws.Sign(_rsa, claims);

        _setup.Time.Advance(TimeSpan.FromSeconds(secondsAfterExp));
        var result = await _setup.ValidateAsync(token);

        Assert.Equal(accepted, result.Succeeded);
        Assert.Equal(accepted ? null : "expired", result.FailureCode);
    }

    [Theory]
    [InlineData(30, true)]
    [InlineData(31, false)]
    public async Task NotBefore_IsToleratedOnlyWithinTheClockSkew(int secondsBeforeNbf, bool accepted)
    {
        var claims = Jws.Claims(Now);
        claims["nbf"] = Now.AddSeconds(secondsBeforeNbf).ToUnixTimeSeconds();

        var result = await _setup.ValidateAsync(Jws.Sign(_rsa, claims));

        Assert.Equal(accepted, result.Succeeded);
        Assert.Equal(accepted ? null : "not-yet-valid", result.FailureCode);
    }

    [Fact]
    public async Task ZeroClockSkew_RefusesATokenOneSecondPastExpiry()
    {
        await using var setup = await ValidatorSetup.StartAsync(ValidatorSetup.Config(file: _file) with { ClockSkew = TimeSpan.Zero });
        var claims = Jws.Claims(setup.Now);
        claims["exp"] = setup.Now.AddSeconds(1).ToUnixTimeSeconds();
        var token = Jws.Sign(_rsa, claims);

        Assert.True((await setup.ValidateAsync(token)).Succeeded);
        setup.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("expired", await setup.FailureAsync(token));
    }
}
