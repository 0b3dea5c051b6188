using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Gatehouse.Model.Registrations;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Registrations;

/// <summary><c>services.NAME.registration</c> and the registered-URL rules (issue #5: self-registration of targets).</summary>
public sealed class RegistrationConfigTests
{
    private static readonly string Hash = ApiKeyHash.Sha256Hex("ghr_token-one");

    [Fact]
    public void Registration_WithOnlyATokenAndNoTargets_IsValidAndGetsDocumentedDefaults()
    {
        var config = ConfigText.Valid(ConfigText.WithService($"""
            registration:
              tokenSha256: {Hash}
            """));

        var service = config.Services["users"];
        Assert.Empty(service.Targets);
        var registration = Assert.IsType<RegistrationConfig>(service.Registration);
        Assert.Equal([Hash], registration.TokenSha256);
        Assert.Equal(TimeSpan.FromSeconds(30), registration.Ttl);
        Assert.Equal(TimeSpan.FromMinutes(5), registration.MaxTtl);
        Assert.Empty(registration.AllowedNetworks);
    }

    [Fact]
    public void Registration_WithEveryKey_BindsThem()
    {
        var config = ConfigText.Valid(ConfigText.WithService($"""
            targets: [http://127.0.0.1:5001]
            registration:
              tokenSha256: [{Hash}, {ApiKeyHash.Sha256Hex("ghr_token-two")}]
              ttl: 10s
              maxTtl: 1m
              allowedNetworks: [10.0.0.0/8, 192.168.1.7]
            """));

        var registration = config.Services["users"].Registration!;
        Assert.Equal(2, registration.TokenSha256.Count);
        Assert.Equal(TimeSpan.FromSeconds(10), registration.Ttl);
        Assert.Equal(TimeSpan.FromMinutes(1), registration.MaxTtl);
        Assert.Equal(["10.0.0.0/8", "192.168.1.7"], registration.AllowedNetworks);
    }

    [Fact]
    public void Service_WithNeitherTargetsNorRegistration_IsStillAnError()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("loadBalancing: roundRobin"), "services.users.targets");
        Assert.Contains("registration", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tokenSha256: not-a-hash", "services.users.registration.tokenSha256[0]")]
    [InlineData("ttl: 500ms", "services.users.registration.ttl")]
    [InlineData("ttl: 1m\n  maxTtl: 30s", "services.users.registration.maxTtl")]
    [InlineData("allowedNetworks: [10.1.2.3/8]", "services.users.registration.allowedNetworks[0]")]
    [InlineData("allowedNetworks: [ten]", "services.users.registration.allowedNetworks[0]")]
    [InlineData("tll: 30s", "services.users.registration.tll")]
    public void Registration_WithABadSetting_IsRefusedWithItsPath(string setting, string path)
    {
        ConfigText.SingleError(ConfigText.WithService("registration:\n  " + setting), path);
    }

    [Fact]
    public void RegistrationToken_SharedByTwoServices_IsRefused()
    {
        var text = $$"""
            version: 1
            services:
              users:
                registration: { tokenSha256: {{Hash}} }
              orders:
                registration: { tokenSha256: {{Hash}} }
            """;

        var result = ConfigText.Load(text);
        var error = Assert.Single(result.Errors);
        // Whichever service comes second is the one told; the message names the other.
        var (second, first) = error.Path.StartsWith("services.users.", StringComparison.Ordinal) ? ("users", "orders") : ("orders", "users");
        Assert.Equal($"services.{second}.registration.tokenSha256[0]", error.Path);
        Assert.Contains($"'{first}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://10.1.2.3:8080", "http://10.1.2.3:8080")]
    [InlineData("http://10.1.2.3:8080/", "http://10.1.2.3:8080")]
    [InlineData("HTTPS://Box.Internal:8443", "https://box.internal:8443")]
    [InlineData("http://10.1.2.3", "http://10.1.2.3")]
    [InlineData("http://[fd00::7]:8080", "http://[fd00::7]:8080")]
    public void Url_InTheRules_IsNormalizedToSchemeHostPort(string url, string expected)
    {
        Assert.True(RegistrationUrl.TryParse(url, new RegistrationConfig(), out var normalized, out var error), error);
        Assert.Equal(expected, normalized!.GetLeftPart(UriPartial.Authority));
    }

    [Theory]
    [InlineData("http://user:pw@10.1.2.3:8080")]
    [InlineData("http://10.1.2.3:8080/api")]
    [InlineData("http://10.1.2.3:8080/?a=1")]
    [InlineData("http://10.1.2.3:8080/#top")]
    [InlineData("ftp://10.1.2.3:21")]
    [InlineData("10.1.2.3:8080")]
    [InlineData("http://10.1.2.3:0")]
    [InlineData("http://0.0.0.0:8080")]
    [InlineData("")]
    public void Url_OutsideTheRules_IsRefused(string url)
    {
        Assert.False(RegistrationUrl.TryParse(url, new RegistrationConfig(), out var normalized, out var error));
        Assert.Null(normalized);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("http://10.9.8.7:80", true)]
    [InlineData("http://192.168.1.7:80", true)]
    [InlineData("http://192.168.1.8:80", false)]
    [InlineData("http://11.0.0.1:80", false)]
    [InlineData("http://box.internal:80", false)]
    public void Url_WithAllowedNetworks_MustBeAnAddressInOne(string url, bool allowed)
    {
        var settings = new RegistrationConfig { AllowedNetworks = ["10.0.0.0/8", "192.168.1.7"] };
        Assert.Equal(allowed, RegistrationUrl.TryParse(url, settings, out _, out _));
    }
}
