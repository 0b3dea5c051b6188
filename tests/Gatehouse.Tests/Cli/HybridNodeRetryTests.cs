using System.Net;
using Gatehouse.Cli.Hybrid;

namespace Gatehouse.Tests.Cli;

/// <summary>How soon a hybrid node asks its control plane again after an error answer.</summary>
[Trait("Issue", "21")]
public sealed class HybridNodeRetryTests
{
    /// <summary>
    /// A control plane that is starting, or whose store is away, answers 5xx for a moment: the node asks again within a
    /// quarter of a second, then backs off to at most 10 s; it used to wait 10 s after the first one.
    /// </summary>
    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    public void ServerErrors_AreAskedAgainSoon_ThenLessOften(HttpStatusCode status)
    {
        var pauses = Enumerable.Range(1, 10).Select(n => HybridNode.RefusalPause(status, n)).ToList();

        Assert.Equal(TimeSpan.FromMilliseconds(250), pauses[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(500), pauses[1]);
        Assert.All(pauses.Zip(pauses.Skip(1)), pair => Assert.True(pair.Second >= pair.First));
        Assert.Equal(TimeSpan.FromSeconds(10), pauses[^1]);
    }

    /// <summary>A refusal (a revoked token, a token bound to another node) does not change by asking soon.</summary>
    [Theory]
    [InlineData(HttpStatusCode.Unauthorized)]
    [InlineData(HttpStatusCode.Forbidden)]
    [InlineData(HttpStatusCode.BadRequest)]
    public void Refusals_WaitTenSeconds(HttpStatusCode status) =>
        Assert.Equal(TimeSpan.FromSeconds(10), HybridNode.RefusalPause(status, 1));
}
