using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure.Wire;

namespace Gatehouse.Gateway.Tests.Security;

/// <summary>
/// Every case the differential wire test (<see cref="WireDifferentialTests"/>) ever failed, kept by name. Each runs
/// through the same harness and oracle, and also pins the outcome the fix chose (forwarded, and how, or refused).
/// </summary>
[Trait("Issue", "16")]
public sealed class WireRegressionTests
{
    private static WireCase Case(string method, string target, params (string Name, string Value)[] headers) =>
        new(0, 0, Encoding.Latin1.GetBytes(method), Encoding.Latin1.GetBytes(target),
            [.. headers.Select(h => (Encoding.Latin1.GetBytes(h.Name), Encoding.Latin1.GetBytes(h.Value)))]);

    private static async Task<WireResult> RunAsync(WireCase c, bool http2Front, bool h2cUpstream)
    {
        await using var harness = await WireHarness.StartAsync(h2cUpstream);
        var result = await harness.RunAsync(c, http2Front);
        Assert.True(result.Violations.Count == 0, string.Join("\n", result.Violations));
        return result;
    }

    [Theory]
    [InlineData("/p/", "/p/")]
    [InlineData("/p//", "/p/")]
    [InlineData("/p/Rs./", "/p/Rs./")]
    [InlineData("/p/?1", "/p/?1")]
    public async Task TrailingSlash_IsKept(string target, string upstreamTarget)
    {
        // Seed 16 case 14 and others: the catch-all dropped it, so "/p/" reached the service as "/p".
        var result = await RunAsync(Case("GET", target), http2Front: false, h2cUpstream: false);

        Assert.Equal(WireOutcome.Forwarded, result.Outcome);
        Assert.Equal(upstreamTarget, result.Upstream!.Target);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public async Task PathResolvingToTheRoot_GoesUpstreamAsSlash_NotAsAnEmptyTarget(bool http2Front, bool h2cUpstream)
    {
        // Seed 16 case 935 / seed 17 case 344: "/p/%2E%2E??./" resolves to "/"; the catch-all captured nothing and the
        // upstream got "GET ??./ HTTP/1.1" (over h2c an empty :path, a stream reset charged to passive health).
        var result = await RunAsync(Case("GET", "/p/%2E%2E??./"), http2Front, h2cUpstream);

        Assert.Equal(WireOutcome.Forwarded, result.Outcome);
        Assert.Equal("/??./", result.Upstream!.Target);
    }

    [Fact]
    public async Task Http2PathMixingRawNonAsciiWithPercentEncoding_IsRefused()
    {
        // Seed 17 case 1391: Kestrel's decoder turned the raw "é" into U+FFFD, so the service got another path.
        var result = await RunAsync(Case("GET", "/p/..\u00c3\u00a9^-%\u007f\t\u000b"), http2Front: true, h2cUpstream: false);

        Assert.Equal(WireOutcome.Refused, result.Outcome);
    }

    [Fact]
    public async Task Http1HeaderNameWithDel_IsRefused_EvenWhenItWouldBeDropped()
    {
        // Seed 16 case 125: Kestrel accepted "x_w0\x7F"; the gateway dropped it for its underscore instead of refusing.
        var result = await RunAsync(Case("GET", "/p/+", ("x_w0\u007f", "v"), ("x-w1", "w")), http2Front: false, h2cUpstream: false);

        Assert.Equal(WireOutcome.Refused, result.Outcome);
    }

    [Theory]
    [InlineData(" \"+", "\"+")]
    [InlineData("\t9", "9")]
    [InlineData("o\t", "o")]
    [InlineData(" ", "")]
    public async Task Http2HeaderValueWithOuterWhitespace_ReachesAnH2UpstreamTrimmed(string value, string expected)
    {
        // Seed 102 case 1331 and others: Kestrel's HTTP/2 layer keeps it; an h2c upstream saw a value an HTTP/1.1 one would not.
        var result = await RunAsync(Case("GET", "/p/x", ("x-w0", value)), http2Front: true, h2cUpstream: true);

        Assert.Equal(WireOutcome.Forwarded, result.Outcome);
        Assert.Equal(expected, result.Upstream!.Headers.Single(h => h.Name.Equals("x-w0", StringComparison.OrdinalIgnoreCase)).Value);
    }

    [Theory]
    [InlineData("gET", false)]
    [InlineData("GeT", false)]
    [InlineData("GEt", true)]
    public async Task StandardMethodInOtherCase_IsRefused_NotSentAsTheStandardOne(string method, bool http2Front)
    {
        // Seed 202 case 197: SocketsHttpHandler sent "gET" upstream as "GET".
        var result = await RunAsync(Case(method, "/p/x"), http2Front, h2cUpstream: false);

        Assert.Equal(WireOutcome.Refused, result.Outcome);
    }

    [Fact]
    public async Task Http1ValueEndingInBareLf_EndsTheLine_AndIsForwardedWithoutIt()
    {
        // Seed 202 case 528: a positive control for the oracle's reading of bare LF (RFC 9112 §2.2).
        var result = await RunAsync(Case("POST", "/p/x", ("x-w0", "t#O?G\n")), http2Front: false, h2cUpstream: false);

        Assert.Equal(WireOutcome.Forwarded, result.Outcome);
        Assert.Equal("t#O?G", result.Upstream!.Headers.Single(h => h.Name == "x-w0").Value);
    }
}
