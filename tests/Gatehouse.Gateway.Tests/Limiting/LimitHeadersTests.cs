using System.Text.Json;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using static Gatehouse.Gateway.Tests.Limiting.LimitTestKit;

namespace Gatehouse.Gateway.Tests.Limiting;

/// <summary>RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-10) and the 429 problem.</summary>
public sealed class LimitHeadersTests
{
    [Fact]
    public void PolicyHeader_ListsEnforcedLimitsInDraftSyntax()
    {
        var kit = new LimitTestKit();

        var set = kit.Set((10, LimitPeriod.Second), (100, LimitPeriod.Minute), (5000, LimitPeriod.Hour), (10000, LimitPeriod.Day), (200000, LimitPeriod.Month));

        // A month's length varies, so its item has no 'w'.
        Assert.Equal("\"second\";q=10;w=1, \"minute\";q=100;w=60, \"hour\";q=5000;w=3600, \"day\";q=10000;w=86400, \"month\";q=200000", set.PolicyHeader);
    }

    [Fact]
    public void Write_Allowed_SetsBothFields()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 18));
        var set = kit.Set((4, LimitPeriod.Minute), (1000, LimitPeriod.Day));
        var context = new DefaultHttpContext();

        var decision = kit.Limiter.Check("app-1", set);
        LimitHeaders.Write(context.Response, decision);

        Assert.Equal("\"minute\";q=4;w=60, \"day\";q=1000;w=86400", context.Response.Headers["RateLimit-Policy"].ToString());
        Assert.Equal("\"minute\";r=3;t=42", context.Response.Headers["RateLimit"].ToString());
    }

    [Theory]
    [Trait("Issue", "21")]
    [InlineData(EngineDownAction.Share, "\"minute\";r=3;t=42;fallback=share")]
    [InlineData(EngineDownAction.Allow, "\"minute\";r=3;t=42;fallback=allow")]
    [InlineData(EngineDownAction.Deny, "\"minute\";r=3;t=42;fallback=deny")]
    public void Write_DecidedByTheEngineDownFallback_SaysSoAsAParameter(EngineDownAction action, string expected)
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 18));
        var set = kit.Set((4, LimitPeriod.Minute));
        var context = new DefaultHttpContext();

        LimitHeaders.Write(context.Response, kit.Limiter.Check("app-1", set) with { Fallback = action });

        Assert.Equal(expected, context.Response.Headers["RateLimit"].ToString());
        Assert.Equal("\"minute\";q=4;w=60", context.Response.Headers["RateLimit-Policy"].ToString());
    }

    [Fact]
    public void Write_NoEnforcedLimit_SetsNothing()
    {
        var kit = new LimitTestKit();
        var context = new DefaultHttpContext();

        LimitHeaders.Write(context.Response, kit.Limiter.Check("app-1", kit.Set("p", (1, LimitPeriod.Minute, LimitMode.Shadow))));

        Assert.False(context.Response.Headers.ContainsKey("RateLimit"));
        Assert.False(context.Response.Headers.ContainsKey("RateLimit-Policy"));
    }

    [Fact]
    public async Task Problem_RateLimit_Is429WithRetryAfterAndFields()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 18));
        var set = kit.Set((1, LimitPeriod.Minute));
        kit.Limiter.Check("app-1", set);
        var denied = kit.Limiter.Check("app-1", set);

        var (context, problem) = await WriteProblem(denied);

        Assert.Equal(429, context.Response.StatusCode);
        Assert.Equal("application/problem+json", context.Response.ContentType);
        Assert.Equal("42", context.Response.Headers.RetryAfter.ToString());
        Assert.Equal("\"minute\";q=1;w=60", context.Response.Headers["RateLimit-Policy"].ToString());
        Assert.Equal("\"minute\";r=0;t=42", context.Response.Headers["RateLimit"].ToString());
        Assert.Equal("urn:gatehouse:problem:rate-limited", problem.GetProperty("type").GetString());
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Contains("wait 42 seconds", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Issue", "24")]
    public async Task Problem_CountsOfOne_AreSingular()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 59));
        var set = kit.Set((1, LimitPeriod.Minute));
        kit.Limiter.Check("app-1", set);

        var (_, problem) = await WriteProblem(kit.Limiter.Check("app-1", set));

        Assert.Contains("may make 1 request per minute; wait 1 second (Retry-After)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Problem_Quota_HasTheQuotaType()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 31, 23, 0));
        var set = kit.Set((1, LimitPeriod.Month));
        kit.Limiter.Check("app-1", set);
        var denied = kit.Limiter.Check("app-1", set);

        var (context, problem) = await WriteProblem(denied);

        Assert.Equal("3600", context.Response.Headers.RetryAfter.ToString());
        Assert.Equal("\"month\";r=0;t=3600", context.Response.Headers["RateLimit"].ToString());
        Assert.Equal("urn:gatehouse:problem:quota-exceeded", problem.GetProperty("type").GetString());
    }

    private static async Task<(HttpContext Context, JsonElement Problem)> WriteProblem(LimitDecision decision)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = "/users/1";
        context.Response.Body = new MemoryStream();

        await LimitHeaders.WriteProblemAsync(context, decision, "req-1");

        context.Response.Body.Position = 0;
        using var json = await JsonDocument.ParseAsync(context.Response.Body);
        return (context, json.RootElement.Clone());
    }
}
