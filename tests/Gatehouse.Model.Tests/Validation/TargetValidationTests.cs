using Gatehouse.Model.Tests.Support;
using Gatehouse.Model.Validation;

namespace Gatehouse.Model.Tests.Validation;

public sealed class TargetValidationTests
{
    [Theory]
    [InlineData("ftp://10.0.0.1:21", "is not a target address")]
    [InlineData("10.0.0.1:5001", "is not a target address")]
    [InlineData("localhost:5001", "is not a target address")]
    [InlineData("/var/run/users.sock", "is not a target address")]
    [InlineData("http://10.0.0.1:0", "port 0")]
    [InlineData("http://0.0.0.0:5001", "unspecified address")]
    [InlineData("http://[::]:5001", "unspecified address")]
    [InlineData("http://10.0.0.1:5001/api?version=2", "query")]
    [InlineData("http://10.0.0.1:5001/#top", "fragment")]
    [InlineData("http://admin:secret@10.0.0.1:5001", "user info")]
    public void TargetUrl_Invalid_IsReportedWithItsPath(string url, string expected)
    {
        var error = ConfigText.SingleError(ConfigText.WithService($"""
            targets:
              - http://10.0.0.9:5001
              - url: "{url}"
            """), "services.users.targets[1].url");

        Assert.Contains($"'{url}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://10.0.0.1:5001")]
    [InlineData("https://users.internal")]
    [InlineData("http://[fd00::1]:8080/base/path")]
    [InlineData("http://localhost:5001/")]
    public void TargetUrl_Valid_IsAccepted(string url)
    {
        Assert.True(ConfigValidator.TryParseTargetUrl(url, out var uri, out var error), error);
        Assert.NotNull(uri);
    }

    [Theory]
    [InlineData("http://10.0.0.1:5001", "http://10.0.0.1:5001/")]
    [InlineData("http://users.internal", "HTTP://USERS.INTERNAL:80")]
    [InlineData("http://10.0.0.1:5001/base", "http://10.0.0.1:5001/base/")]
    public void TargetUrl_SameTargetTwice_IsADuplicate(string first, string second)
    {
        var error = ConfigText.SingleError(ConfigText.WithService($"""
            targets: ["{first}", "{second}"]
            """), "services.users.targets[1].url");

        Assert.Contains("listed twice", error.Message, StringComparison.Ordinal);
        Assert.Contains("weight", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://10.0.0.1:5001", "http://10.0.0.1:5002")]
    [InlineData("http://10.0.0.1:5001", "https://10.0.0.1:5001")]
    [InlineData("http://10.0.0.1:5001/a", "http://10.0.0.1:5001/b")]
    public void TargetUrl_DifferentTargets_AreNotDuplicates(string first, string second)
    {
        var c = ConfigText.Valid(ConfigText.WithService($"""
            targets: ["{first}", "{second}"]
            """));

        Assert.Equal(2, c.Services["users"].Targets.Count);
    }

    [Fact]
    public void Weight_Zero_IsRejected()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("""
            targets:
              - url: http://10.0.0.1:5001
                weight: 0
            """), "services.users.targets[0].weight");

        Assert.Contains("at least 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_WithoutHttpsTargets_SaysToUseHttpsOrRemoveIt()
    {
        using var dir = new TempDirectory();
        dir.File("ca.pem");

        var error = ConfigText.SingleError(ConfigText.WithService("""
            targets: [http://10.0.0.1:5001]
            tls:
              caFile: ca.pem
            """), "services.users.tls", baseDirectory: dir.Path);

        Assert.Contains("no target uses https", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_MissingFiles_AreEachReported()
    {
        using var dir = new TempDirectory();

        var result = ConfigText.Load(ConfigText.WithService("""
            targets: [https://10.0.0.1:5001]
            tls:
              caFile: ca.pem
              clientCertificate:
                certFile: client.crt
                keyFile: client.key
            """), baseDirectory: dir.Path);

        Assert.Equal(
            ["services.users.tls.caFile", "services.users.tls.clientCertificate.certFile", "services.users.tls.clientCertificate.keyFile"],
            result.Errors.Select(e => e.Path));
        Assert.Contains(Path.Combine(dir.Path, "ca.pem"), result.Errors[0].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[\"200-\"]", "services.users.healthCheck.active.statuses[0]")]
    [InlineData("[\"6xx\"]", "services.users.healthCheck.active.statuses[0]")]
    [InlineData("[\"2xx\", \"399-200\"]", "services.users.healthCheck.active.statuses[1]")]
    [InlineData("[\"2xx\", \"99\"]", "services.users.healthCheck.active.statuses[1]")]
    [InlineData("[]", "services.users.healthCheck.active.statuses")]
    public void HealthCheck_StatusesThatDoNotRead_AreRejectedWithTheirPath(string statuses, string path)
    {
        var error = ConfigText.SingleError(ConfigText.WithService($"""
            targets: [http://10.0.0.1:5001]
            healthCheck:
              active:
                statuses: {statuses}
            """), path);

        Assert.Contains("2xx", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HealthCheck_StatusesOfTheThreeForms_AreAccepted()
    {
        var config = ConfigText.Valid(ConfigText.WithService("""
            targets: [http://10.0.0.1:5001]
            healthCheck:
              active:
                statuses: ["204", "300-302", "4xx"]
            """));

        Assert.Equal(["204", "300-302", "4xx"], config.Services["users"].HealthCheck!.Active!.Statuses);
    }

    [Fact]
    public void HealthCheck_PathWithoutSlash_IsRejected()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("""
            targets: [http://10.0.0.1:5001]
            healthCheck:
              active:
                path: health
            """), "services.users.healthCheck.active.path");

        Assert.Contains("must start with '/'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HealthCheck_TimeoutLongerThanInterval_ShowsBothInConfigUnits()
    {
        var error = ConfigText.SingleError(ConfigText.WithService("""
            targets: [http://10.0.0.1:5001]
            healthCheck:
              active:
                interval: 5s
                timeout: 6500ms
            """), "services.users.healthCheck.active.timeout");

        Assert.Equal("the probe timeout (6500ms) is longer than the interval (5s); make it shorter.", error.Message);
    }
}
