using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// A provider model that fails is passed over for a while (<c>ai.cooldown</c>), so that a provider that is down or
/// out of quota does not cost every call its failure first; tried last rather than never, and again when the time is up.
/// </summary>
[Trait("Issue", "22")]
public sealed class AiCooldownTests
{
    private const string Chat = """{"model":"fast","messages":[{"role":"user","content":"hi"}]}""";

    [Fact]
    public async Task ThreeFailuresInARow_PassTheProviderOver_ForThirtySeconds_ThenItIsTriedFirstAgain()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        using var logs = new CapturingLoggerProvider();
        await using var kit = await AiKit.StartAsync(time: clock, logs: logs);
        kit.Providers[0].Fault = FakeFault.ServerError;

        for (var i = 0; i < 3; i++)
        {
            await kit.PostOkAsync(Chat); // each falls back to p1
        }

        await kit.PostOkAsync(Chat);
        clock.Advance(TimeSpan.FromSeconds(29));
        await kit.PostOkAsync(Chat);
        var passedOver = kit.Providers[0].Received.Count;
        kit.Providers[0].Fault = FakeFault.None;
        clock.Advance(TimeSpan.FromSeconds(2));
        await kit.PostOkAsync(Chat);

        Assert.Equal(3, passedOver); // the 4th and 5th calls went to p1 first, and p1 answered
        Assert.Equal(4, kit.Providers[0].Received.Count);
        Assert.Equal(5, kit.Providers[1].Received.Count);
        var warning = Assert.Single(logs.Entries, e => e.Message.Contains("passed over", StringComparison.Ordinal));
        Assert.Contains("provider p0 (model-0) is passed over for 30 s after 3 failed call(s)", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCoolingGauge_Is1WhileAProviderModelIsPassedOver_And0After()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        await using var kit = await AiKit.StartAsync(time: clock, models: "        fast: [ { provider: p0, model: gauge-7d1 }, { provider: p1, model: gauge-7d2 } ]\n");
        kit.Providers[0].Fault = FakeFault.ServerError;
        for (var i = 0; i < 3; i++)
        {
            await kit.PostOkAsync(Chat);
        }

        var cooling = Gauge("gauge-7d1");
        clock.Advance(TimeSpan.FromSeconds(31));

        Assert.Equal(1, cooling);
        Assert.Equal(0, Gauge("gauge-7d1"));
        Assert.Null(Gauge("gauge-7d2")); // never failed: not known
    }

    // The gauge's value for one provider model (unique to a test: the meter is shared by tests running in parallel).
    private static int? Gauge(string model)
    {
        int? value = null;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "gatehouse.ai.cooling")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, measured, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "model" && (string?)tag.Value == model)
                {
                    value = measured;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }

    [Fact]
    public async Task TheAccessLog_NamesTheProviderThatAnswered_AndWhyTheOnesBeforeItDidNot()
    {
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-{Guid.NewGuid():N}.log");
        try
        {
            var kit = await AiKit.StartAsync(gatewayExtra: $"gateway:\n  observability:\n    accessLog: {{ path: \"{log}\" }}");
            try
            {
                kit.Providers[0].Fault = FakeFault.ServerError;
                await kit.PostOkAsync(Chat);
                kit.Providers[0].Fault = FakeFault.None;
                await kit.PostOkAsync(Chat);
            }
            finally
            {
                await kit.DisposeAsync(); // writes the log
            }

            var lines = File.ReadAllLines(log).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(2, lines.Count);
            Assert.Equal((kit.Providers[1].BaseUrl, "500"), (lines[0].GetProperty("upstream").GetString(), lines[0].GetProperty("retries").GetString()));
            Assert.Equal(kit.Providers[0].BaseUrl, lines[1].GetProperty("upstream").GetString());
            Assert.False(lines[1].TryGetProperty("retries", out _));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public async Task A429WithRetryAfter_PassesTheProviderOverAtOnce_ForAsLongAsItAsks()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        await using var kit = await AiKit.StartAsync(time: clock);
        kit.Providers[0].Fault = FakeFault.RateLimited; // Retry-After: 7

        await kit.PostOkAsync(Chat);
        kit.Providers[0].Fault = FakeFault.None;
        await kit.PostOkAsync(Chat);
        var passedOver = kit.Providers[0].Received.Count;
        clock.Advance(TimeSpan.FromSeconds(7));
        await kit.PostOkAsync(Chat);

        Assert.Equal(1, passedOver);
        Assert.Equal(2, kit.Providers[0].Received.Count);
        Assert.Equal(2, kit.Providers[1].Received.Count);
    }

    [Fact]
    public async Task ARetryAfterLongerThanMaxRetryAfter_PassesTheProviderOverForMaxRetryAfter()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        await using var kit = await AiKit.StartAsync(time: clock, models: "        fast: [ { provider: p0, model: model-0 }, { provider: p1, model: model-1 } ]\n      cooldown: { maxRetryAfter: 3s }\n");
        kit.Providers[0].Fault = FakeFault.RateLimited; // Retry-After: 7

        await kit.PostOkAsync(Chat);
        kit.Providers[0].Fault = FakeFault.None;
        clock.Advance(TimeSpan.FromSeconds(2));
        await kit.PostOkAsync(Chat);
        var passedOver = kit.Providers[0].Received.Count;
        clock.Advance(TimeSpan.FromSeconds(1));
        await kit.PostOkAsync(Chat);

        Assert.Equal(1, passedOver); // still passed over 2 s on
        Assert.Equal(2, kit.Providers[0].Received.Count); // tried first again at 3 s, not 7
    }

    [Fact]
    public async Task EveryProviderCooling_TheCallStillTriesThemAll_InOrder()
    {
        using var logs = new CapturingLoggerProvider();
        await using var kit = await AiKit.StartAsync(logs: logs);
        kit.Providers[0].Fault = FakeFault.ServerError;
        kit.Providers[1].Fault = FakeFault.ServerError;
        for (var i = 0; i < 3; i++)
        {
            using var failed = await kit.Gateway.Client.SendAsync(kit.Post(Chat));
            Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        }

        kit.Providers[1].Fault = FakeFault.None;
        var answer = await kit.PostOkAsync(Chat);

        Assert.Contains("w1 w2", answer, StringComparison.Ordinal);
        Assert.Equal(4, kit.Providers[0].Received.Count); // cooling, yet tried: there was nothing else to try first
        Assert.Equal(4, kit.Providers[1].Received.Count);
        // Told once each when it began, not again when a failure while cooling extended it (p0's fourth).
        Assert.Equal(["p0", "p1"], logs.Entries.Where(e => e.Message.Contains("passed over", StringComparison.Ordinal)).Select(e => e.Message.Split(' ')[4]).Order());
    }

    [Fact]
    public async Task Success_ResetsTheCount_AndZeroFailuresTurnsCoolingOff()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.ServerError;
        await kit.PostOkAsync(Chat);
        await kit.PostOkAsync(Chat);
        kit.Providers[0].Fault = FakeFault.None;
        await kit.PostOkAsync(Chat);
        kit.Providers[0].Fault = FakeFault.ServerError;
        await kit.PostOkAsync(Chat);
        await kit.PostOkAsync(Chat);
        kit.Providers[0].Fault = FakeFault.None;
        await kit.PostOkAsync(Chat);

        Assert.Equal(6, kit.Providers[0].Received.Count); // never three in a row: never passed over

        await using var off = await AiKit.StartAsync(models: "        fast: [ { provider: p0, model: model-0 }, { provider: p1, model: model-1 } ]\n      cooldown: { consecutiveFailures: 0, maxRetryAfter: 0s }\n");
        off.Providers[0].Fault = FakeFault.RateLimited;
        for (var i = 0; i < 5; i++)
        {
            await off.PostOkAsync(Chat);
        }

        Assert.Equal(5, off.Providers[0].Received.Count);
    }
}
