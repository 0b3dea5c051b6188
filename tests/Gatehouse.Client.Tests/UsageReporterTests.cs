using System.Diagnostics.Metrics;

namespace Gatehouse.Client.Tests;

/// <summary>
/// The middleware's batch of reports (#19): outcomes are summed per bucket, and while the gateway takes no reports the
/// outcomes waiting are bounded (new ones dropped and counted), while calls served from the cache are always kept.
/// </summary>
public sealed class UsageReporterTests
{
    [Theory]
    [InlineData(0.0005)]
    [InlineData(0.75)]
    [InlineData(30)]
    [InlineData(12_345.6)]
    public void ADuration_IsReportedWithinItsBucketsBound(double ms)
    {
        var reported = UsageReporter.DurationOf(UsageReporter.BucketOf(ms));
        Assert.InRange(reported, Math.Max(ms, 0.001) / 1.045, Math.Max(ms, 0.001) * 1.045);
    }

    [Fact]
    public async Task WhileTheGatewayTakesNoReports_WaitingOutcomesAreBounded_AndCachedCallsKept()
    {
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Gatehouse.Client" && instrument.Name == "gatehouse.client.outcomes.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();

        // Port 9 on loopback: nothing listens, every report fails and its batch is kept.
        using var api = new ServiceApiClient(new GatehouseAuthorizationOptions { ServiceApiUrl = new Uri("http://127.0.0.1:9"), ServiceToken = "ghs_x", Timeout = TimeSpan.FromSeconds(2) });
        await using var reporter = new UsageReporter(api, TimeSpan.FromHours(1), TimeProvider.System);
        var credential = new CredentialBody("ghk_a", null);
        for (var i = 0; i < UsageReporter.MaxOutcomeEntries + 50; i++)
        {
            reporter.AddOutcome(credential, "items.get", "10.0.0." + i, 200, 5, counted: true);
        }

        reporter.AddOutcome(credential, "items.get", "10.0.0.1", 200, 5, counted: true); // a key already waiting still sums
        reporter.Add(credential, "items.get", "10.9.9.9");
        await reporter.FlushAsync();

        Assert.Equal(50, Interlocked.Read(ref dropped));
        Assert.True(reporter.HasUncounted);
        reporter.AddOutcome(credential, "items.get", "10.1.1.1", 200, 5, counted: true);
        Assert.Equal(51, Interlocked.Read(ref dropped));
    }
}
