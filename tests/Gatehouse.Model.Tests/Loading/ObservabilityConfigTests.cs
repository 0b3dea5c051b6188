using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>gateway.observability: every key binds, defaults hold, and mistakes are errors at their path.</summary>
[Trait("Issue", "19")]
public sealed class ObservabilityConfigTests
{
    private static ConfigLoadResult Load(string observability) => ConfigLoader.Load($$"""
        version: 1
        gateway:
          observability:
        {{string.Join('\n', observability.Split('\n').Select(l => "    " + l))}}
        services:
          s: { targets: [http://127.0.0.1:1] }
        routes:
          r: { path: /r, service: s }
        """, Path.GetTempPath(), _ => null);

    [Fact]
    public void Nothing_Written_GivesTheDocumentedDefaults()
    {
        var result = ConfigLoader.Load("version: 1\n", Path.GetTempPath(), _ => null);
        var o = result.Config!.Gateway.Observability;

        Assert.True(o.Usage.Enabled);
        Assert.Equal(TimeSpan.FromSeconds(5), o.Usage.FlushInterval);
        Assert.Equal(TimeSpan.FromDays(7), o.Usage.KeepMinutes);
        Assert.Equal(TimeSpan.FromDays(90), o.Usage.KeepHours);
        Assert.Null(o.Usage.KeepDays);
        Assert.True(o.Metrics.Enabled);
        Assert.False(o.Metrics.ApplicationLabel);
        Assert.Null(o.AccessLog);
        Assert.Equal(TraceparentTrust.TrustedProxies, o.Tracing.AcceptTraceparent);
    }

    [Fact]
    public void EveryKey_Binds()
    {
        var result = Load("""
            usage: { enabled: false, flushInterval: 2s, bufferSize: 1000, maxPendingRows: 500, keepMinutes: 2d, keepHours: 30d, keepDays: 400d }
            metrics: { enabled: true, url: "http://127.0.0.1:9464", applicationLabel: true, maxApplications: 20 }
            accessLog: { path: access.log, sampleRate: 0.25, errorsOnly: true, maxFileSize: 1MB, maxFiles: 3, bufferSize: 64 }
            tracing: { acceptTraceparent: any }
            """);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var o = result.Config!.Gateway.Observability;
        Assert.Equal(new UsageConfig { Enabled = false, FlushInterval = TimeSpan.FromSeconds(2), BufferSize = 1000, MaxPendingRows = 500, KeepMinutes = TimeSpan.FromDays(2), KeepHours = TimeSpan.FromDays(30), KeepDays = TimeSpan.FromDays(400) }, o.Usage);
        Assert.Equal(new MetricsConfig { Url = "http://127.0.0.1:9464", ApplicationLabel = true, MaxApplications = 20 }, o.Metrics);
        Assert.Equal(new AccessLogConfig { Path = Path.Combine(Path.GetTempPath(), "access.log"), SampleRate = 0.25, ErrorsOnly = true, MaxFileSize = 1024 * 1024, MaxFiles = 3, BufferSize = 64 }, o.AccessLog);
        Assert.Equal(TraceparentTrust.Any, o.Tracing.AcceptTraceparent);
    }

    [Fact]
    public void KeepDays_Forever_IsTheDefaultWrittenOut()
    {
        var result = Load("usage: { keepDays: forever }");

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Null(result.Config!.Gateway.Observability.Usage.KeepDays);
    }

    [Theory]
    [InlineData("usage: { flushInterval: 10m }", "gateway.observability.usage.flushInterval", "from 1s to 5m")]
    [InlineData("usage: { keepMinutes: 10m }", "gateway.observability.usage.keepMinutes", "at least 1h")]
    [InlineData("usage: { flushes: 1 }", "gateway.observability.usage.flushes", "flushInterval")]
    [InlineData("metrics: { url: \"ftp://x\" }", "gateway.observability.metrics.url", "listener address")]
    [InlineData("metrics: { maxApplications: 0 }", "gateway.observability.metrics.maxApplications", "at least 1")]
    [InlineData("accessLog: { sampleRate: 2 }", "gateway.observability.accessLog.sampleRate", "from 0 to 1")]
    [InlineData("accessLog: { sampleRate: 0.5 }", "gateway.observability.accessLog.path", "'stdout' or a file path")]
    [InlineData("accessLog: { path: /no/such/folder/access.log }", "gateway.observability.accessLog.path", "does not exist")]
    [InlineData("tracing: { acceptTraceparent: everyone }", "gateway.observability.tracing.acceptTraceparent", "trustedProxies, any, none")]
    public void Mistakes_AreErrorsAtTheirPath(string yaml, string path, string message)
    {
        var result = Load(yaml);

        var error = Assert.Single(result.Errors, e => e.Path == path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
