using System.Globalization;
using Gatehouse.Gateway.Tests.Infrastructure.Wire;
using Xunit.Abstractions;

namespace Gatehouse.Gateway.Tests.Security;

/// <summary>
/// The differential wire test (issue 16): requests with arbitrary bytes in the method, path, query, header names and
/// header values, sent over HTTP/1.1 (raw socket) and HTTP/2 (raw frames), to a gateway in front of an HTTP/1.1
/// upstream (raw socket, every byte recorded) and an h2c upstream (Kestrel). For every case, one of two things holds:
/// <list type="bullet">
/// <item>the request is refused (by the server's parser or the gateway, with 4xx, 501 or a protocol error) and the
/// upstream receives nothing; or</item>
/// <item>the upstream receives exactly one well-formed request: the client's method, the client's target canonically
/// encoded, the client's allowed headers with their values plus the gateway's own, and nothing else; and the client
/// gets that request's response.</item>
/// </list>
/// Either way, a follow-up request on the same upstream connection gets its own response. The seed is fixed and the
/// case count small here (GATEHOUSE_WIRE_CASES and GATEHOUSE_WIRE_SEED change them; bench/wire-fuzz.sh runs long).
/// Every case that ever failed is kept as a named regression in <see cref="WireRegressionTests"/>.
/// </summary>
[Trait("Issue", "16")]
public sealed class WireDifferentialTests(ITestOutputHelper output)
{
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("GATEHOUSE_WIRE_CASES"), CultureInfo.InvariantCulture, out var n) ? n : 3000;
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("GATEHOUSE_WIRE_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 16;

    [Theory]
    [InlineData("http1", "http1")]
    [InlineData("http1", "h2c")]
    [InlineData("http2", "http1")]
    [InlineData("http2", "h2c")]
    public async Task ArbitraryBytes_AreRefusedOrForwardedCanonically_AndTheUpstreamStaysInStep(string front, string upstreamProtocol)
    {
        await using var harness = await WireHarness.StartAsync(h2cUpstream: upstreamProtocol == "h2c");
        var generator = new WireCaseGenerator(Seed + (front == "http2" ? 1 : 0));
        var violations = new List<string>();
        var counts = new Dictionary<WireOutcome, int> { [WireOutcome.Forwarded] = 0, [WireOutcome.Refused] = 0, [WireOutcome.Skipped] = 0 };
        for (var i = 0; i < Cases && violations.Count < 5; i++)
        {
            var result = await harness.RunAsync(generator.Next(), http2Front: front == "http2");
            counts[result.Outcome]++;
            violations.AddRange(result.Violations);
        }

        int forwarded = counts[WireOutcome.Forwarded], refused = counts[WireOutcome.Refused];
        output.WriteLine($"seed {Seed}, {front} to {upstreamProtocol}: {forwarded} forwarded, {refused} refused, {counts[WireOutcome.Skipped]} not sent (two requests in one), {harness.UpstreamConnections} upstream connections");
        Assert.True(violations.Count == 0, string.Join("\n", violations));
        Assert.True(forwarded > Cases / 5 && refused > Cases / 20, $"The generator should exercise both outcomes: {forwarded} forwarded, {refused} refused.");
    }
}
