using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Client.Tests;

/// <summary>The middleware against a real gateway's service API (#3).</summary>
public sealed class GatehouseAuthorizationMiddlewareTests
{
    [Fact]
    public async Task Allowed_ReachesTheHandlerWithTheFeature()
    {
        await using var setup = await ClientSetup.StartAsync(TimeSpan.Zero);

        using var response = await setup.GetAsync("/users/1", setup.Keys["shop"]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("users.getUser|shop|retail", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(null, "/users/1", HttpStatusCode.Unauthorized, "unauthorized")]
    [InlineData("ghk_unknown", "/users/1", HttpStatusCode.Unauthorized, "unauthorized")]
    [InlineData("trader", "/users/1", HttpStatusCode.Forbidden, "forbidden")]
    public async Task Denied_IsAnsweredWithTheGatewaysStatus(string? caller, string path, HttpStatusCode status, string slug)
    {
        await using var setup = await ClientSetup.StartAsync(TimeSpan.Zero);

        using var response = await setup.GetAsync(path, caller is null ? null : setup.Keys.GetValueOrDefault(caller, caller));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("urn:gatehouse:problem:" + slug, problem.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("shop", HttpStatusCode.Forbidden, "insufficient-scope", "Bearer error=\"insufficient_scope\", scope=\"secrets:read users:read\"")]
    [InlineData(null, HttpStatusCode.Unauthorized, "unauthorized", "Bearer scope=\"secrets:read users:read\"")]
    public async Task AnOperationRequiringScopes_IsRefusedWithTheGatewaysProblemAndChallenge(string? caller, HttpStatusCode status, string slug, string challenge)
    {
        await using var setup = await ClientSetup.StartAsync(TimeSpan.Zero);

        // An API key carries no scopes: the gateway's answer names the ones to ask for, and the service says them as the proxy would.
        using var response = await setup.GetAsync("/secrets/1", caller is null ? null : setup.Keys[caller]);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(challenge, Assert.Single(response.Headers.WwwAuthenticate).ToString());
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("urn:gatehouse:problem:" + slug, problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task OverTheLimit_Is429WithRetryAfter()
    {
        await using var setup = await ClientSetup.StartAsync(TimeSpan.Zero);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await setup.GetAsync("/orders", setup.Keys["trader"]);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var response = await setup.GetAsync("/orders", setup.Keys["trader"]);

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal(4, setup.Calls["/api/authrep"]);
    }

    [Fact]
    public async Task CacheHit_WithinCacheDuration_DoesNotCallTheApiAgain()
    {
        await using var setup = await ClientSetup.StartAsync(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 5; i++)
        {
            using var response = await setup.GetAsync("/users/1", setup.Keys["shop"]);
            Assert.Equal("users.getUser|shop|retail", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(1, setup.Calls["/api/authrep"]);
    }

    [Fact]
    public async Task CacheHits_AreReportedAndBoundedByTheLimit_FourthCallIs429()
    {
        await using var setup = await ClientSetup.StartAsync(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 3; i++)
        {
            using var ok = await setup.GetAsync("/orders", setup.Keys["trader"]);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var response = await setup.GetAsync("/orders", setup.Keys["trader"]);

        // One authrep, two calls from the cache (what the limit had left), then the report of those two and a new authrep.
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(2, setup.Calls["/api/authrep"]);
        Assert.Equal(1, setup.Calls["/api/report"]);
    }

    [Fact]
    public async Task Outcomes_WaitForTheReportInterval_NotTheNextAuthrep_AndCountNothingAgainstTheLimit()
    {
        await using var setup = await ClientSetup.StartAsync(TimeSpan.Zero);
        for (var i = 0; i < 2; i++)
        {
            using var ok = await setup.GetAsync("/orders", setup.Keys["trader"]);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // One round-trip a call: the outcomes change no decision, so no report goes before an authrep.
        Assert.Equal(2, setup.Calls["/api/authrep"]);
        Assert.Equal(0, setup.Calls["/api/report"]);

        // Sent when the service stops; the two calls were counted by their authreps, and their outcomes count nothing
        // more: one of the 3 a minute is left, so a third call would be allowed (and leave none).
        await setup.StopServiceAsync();
        Assert.Equal(1, setup.Calls["/api/report"]);
        var third = await setup.AuthorizeAsync(setup.Keys["trader"], "orders.listOrders");
        Assert.True(third.GetProperty("allowed").GetBoolean(), third.ToString());
        Assert.Equal(0, third.GetProperty("limits")[0].GetProperty("remaining").GetInt64());
    }

    [Fact]
    public async Task AGatewayTooOldForOutcomes_IsAskedWithoutThem_FromThenOn()
    {
        // A service API as a gateway of the version before reportsOutcome answers: an unknown field is a 400 that names it.
        var withField = 0;
        var without = 0;
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var old = builder.Build();
        old.Run(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (body.Contains("reportsOutcome", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref withField);
                context.Response.StatusCode = 400;
                context.Response.ContentType = "application/problem+json";
                await context.Response.WriteAsync("{\"type\":\"urn:gatehouse:problem:invalid-request\",\"status\":400,\"detail\":\"Unknown field 'reportsOutcome'; see /api/openapi.json for the fields of this body.\"}");
                return;
            }

            Interlocked.Increment(ref without);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"allowed\":true,\"application\":\"shop\",\"plan\":\"retail\",\"limits\":[]}");
        });
        await old.StartAsync();

        await using var setup = await ClientSetup.StartAsync(TimeSpan.Zero, apiUrl: old.Urls.First());
        for (var i = 0; i < 3; i++)
        {
            using var response = await setup.GetAsync("/users/1", "ghk_any");
            Assert.Equal("users.getUser|shop|retail", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal((1, 3), (withField, without));
        Assert.Equal(0, setup.Calls["/api/report"]);
    }

    [Fact]
    public async Task NoOperation_PassesThroughWithoutAsking()
    {
        await using var setup = await ClientSetup.StartAsync(TimeSpan.Zero);

        using var response = await setup.GetAsync("/health", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, setup.Calls["/api/authrep"]);
    }

    [Theory]
    [InlineData(false, HttpStatusCode.ServiceUnavailable)]
    [InlineData(true, HttpStatusCode.OK)]
    public async Task ApiDown_FailsClosedUnlessFailOpen(bool failOpen, HttpStatusCode status)
    {
        // Port 9 (discard) on loopback: nothing listens there in a test environment, so the connection is refused.
        await using var setup = await ClientSetup.StartAsync(TimeSpan.Zero, apiUrl: "http://127.0.0.1:9", failOpen: failOpen);

        using var response = await setup.GetAsync("/users/1", "ghk_any");

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(1, setup.Calls["/api/authrep"]);
    }
}
