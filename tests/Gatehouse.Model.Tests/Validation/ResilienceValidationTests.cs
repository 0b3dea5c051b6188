using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Validation;

/// <summary>Issue 20: the resilience keys bind from the records, and their cross-key rules report with paths.</summary>
public sealed class ResilienceValidationTests
{
    [Fact]
    public void ResilienceKeys_Bind_WithTheirDefaults()
    {
        var config = ConfigText.Valid(ConfigText.WithService("""
            targets: [http://127.0.0.1:5001]
            retry: { attempts: 4, retryOn: [connect-failure, 503, 429], nonIdempotent: true, maxBodySize: 1MB }
            outlierDetection: { failurePercent: 50 }
            concurrency: { maxRequests: 10 }
            deadlineHeader: Gatehouse-Deadline-Ms
            """));

        var users = config.Services["users"];
        Assert.Equal(4, users.Retry!.Attempts);
        Assert.Equal(["connect-failure", "503", "429"], users.Retry.RetryOn);
        Assert.Equal(1024 * 1024, users.Retry.MaxBodySize);
        Assert.Equal(TimeSpan.FromMilliseconds(25), users.Retry.BackOff);
        Assert.Equal(20, users.RetryBudget.ActivePercent);
        Assert.Equal(50, users.OutlierDetection!.FailurePercent);
        Assert.Equal(TimeSpan.FromSeconds(300), users.OutlierDetection.MaxEjectionTime);
        Assert.Equal(10, users.Concurrency!.MaxRequests);
        Assert.Equal(0, users.Concurrency.MaxPending);
    }

    [Theory]
    [InlineData("retry: { retryOn: [bogus] }", "services.users.retry.retryOn[0]", "not a retry condition")]
    [InlineData("retry: { retryOn: [200] }", "services.users.retry.retryOn[0]", "not a retry condition")]
    [InlineData("retry: { backOff: 1s, maxBackOff: 100ms }", "services.users.retry.maxBackOff", "not be shorter")]
    [InlineData("retry: { attempts: 0 }", "services.users.retry.attempts", "at least 1")]
    [InlineData("outlierDetection: { maxEjectedPercent: 150 }", "services.users.outlierDetection.maxEjectedPercent", "at most 100")]
    [InlineData("outlierDetection: { baseEjectionTime: 1m, maxEjectionTime: 10s }", "services.users.outlierDetection.maxEjectionTime", "not be shorter")]
    [InlineData("outlierDetection: {}\nhealthCheck: { passive: {} }", "services.users.outlierDetection", "replaces 'healthCheck.passive'")]
    [InlineData("deadlineHeader: \"bad header\"", "services.users.deadlineHeader", "not a valid header name")]
    public void ServiceMistakes_AreReportedAtTheirPath(string yaml, string path, string expected)
    {
        var error = ConfigText.SingleError(ConfigText.WithService("targets: [http://127.0.0.1:5001]\n" + yaml), path);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("faults: { header: X-Chaos }", "routes.r.faults", "need 'abort' or 'delay'")]
    [InlineData("faults: { abort: { percent: 101 } }", "routes.r.faults.abort.percent", "at most 100")]
    [InlineData("faults: { abort: { percent: 10, status: 700 } }", "routes.r.faults.abort.status", "from 200 to 599")]
    [InlineData("faults: { delay: { percent: 10 } }", "routes.r.faults.delay.duration", "required")]
    [InlineData("faults: { abort: { percent: 10 }, from: [not-an-ip] }", "routes.r.faults.from[0]", "not-an-ip")]
    public void RouteFaultMistakes_AreReportedAtTheirPath(string yaml, string path, string expected)
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes($"r:\n  path: /x\n  service: users\n  {yaml}"), path);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HealthPath_MustStartWithASlash()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("healthPath: healthz"), "gateway.healthPath");

        Assert.Contains("must start with '/'", error.Message, StringComparison.Ordinal);
    }
}
