using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue #3, API keys: unknown, revoked and expired keys are indistinguishable 401s; keys stay away from services
/// unless a route forwards them; query keys only where a route allows them; applications that are not live get 403.
/// </summary>
public sealed class AccessCredentialTests
{
    private const string RequestId = "fixed-request-id";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static string Yaml(string backendUrl, string applications) =>
        "version: 1\n" + AccessKit.ServicesAndRoutes(backendUrl,
            "  legacy: { path: \"/legacy/{**rest}\", service: users, apiKeyInQuery: true }\n"
            + "  passthrough: { path: \"/passthrough/{**rest}\", service: users, forwardCredential: true, apiKeyInQuery: true }\n") + """
        plans:
          retail:
            include: [ { tag: users, access: read }, { route: legacy }, { route: passthrough } ]
          gold:
            approvalRequired: true
            include: [ { tag: users } ]
        accounts: { acme: {} }
        applications:

        """ + applications;

    private static Task<Sent> GetUserAsync(TestGateway gateway, string? key) =>
        AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key, ("X-Request-Id", RequestId));

    [Fact]
    public async Task UnknownRevokedAndExpiredKeys_Get401_WithByteIdenticalBodies_AndAChallenge()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var live = TestKey.New();
        var revoked = TestKey.New();
        var expiring = TestKey.New();

        // Revoked: the key works, then a reload of the file removes it.
        using var dir = new TempDirectory();
        var withBoth = Yaml(backend.Url, AccessKit.Application("shop", "retail", live) + AccessKit.Application("old", "retail", revoked));
        var path = dir.Write("gatehouse.yaml", withBoth);
        await using var gateway = await TestGateway.StartAsync(withBoth, configPath: path);
        Assert.Equal(200, (await GetUserAsync(gateway, revoked.Plaintext)).Status);
        var applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Host.Runtime.Applied += _ => applied.TrySetResult();
        dir.Write("gatehouse.yaml", Yaml(backend.Url, AccessKit.Application("shop", "retail", live)));
        await applied.Task.WaitAsync(Patience);
        var revokedAnswer = await GetUserAsync(gateway, revoked.Plaintext);
        var unknownAnswer = await GetUserAsync(gateway, TestKey.New().Plaintext);

        // Expired: the key works until its expiry on the gateway's clock, and not at it.
        var time = new FakeTimeProvider();
        var expires = time.GetUtcNow().AddHours(1);
        var expiringApp = AccessKit.Application("shop", "retail", expiring, expires: expires);
        await using var clocked = await TestGateway.StartAsync(Yaml(backend.Url, expiringApp), time: time);
        Assert.Equal(200, (await GetUserAsync(clocked, expiring.Plaintext)).Status);
        time.Advance(TimeSpan.FromHours(1));
        var expiredAnswer = await GetUserAsync(clocked, expiring.Plaintext);
        var unknownOnClocked = await GetUserAsync(clocked, TestKey.New().Plaintext);

        foreach (var answer in new[] { revokedAnswer, unknownAnswer, expiredAnswer, unknownOnClocked })
        {
            Assert.Equal(401, answer.Status);
            Assert.Equal("ApiKey header=\"X-Api-Key\"", answer.Header("WWW-Authenticate"));
            Assert.Equal("application/problem+json", answer.Response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(RequestId, answer.Body, StringComparison.Ordinal);
        }

        // Same path and request id, so the bodies must match byte for byte: nothing tells the three apart.
        Assert.Equal(unknownAnswer.Body, revokedAnswer.Body);
        Assert.Equal(unknownAnswer.Body, expiredAnswer.Body);
        Assert.Equal(unknownAnswer.Body, unknownOnClocked.Body);
        Assert.Equal(200, (await GetUserAsync(gateway, live.Plaintext)).Status);
    }

    [Fact]
    public async Task MissingKey_Gets401_WithAChallenge()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, AccessKit.Application("shop", "retail", TestKey.New())));

        var sent = await GetUserAsync(gateway, null);

        Assert.Equal(401, sent.Status);
        Assert.Equal("ApiKey header=\"X-Api-Key\"", sent.Header("WWW-Authenticate"));
        Assert.Contains("X-Api-Key", sent.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyHeader_IsNotForwarded_UnlessTheRouteForwardsCredentials()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var key = TestKey.New();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, AccessKit.Application("shop", "retail", key)));

        var stripped = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        var strippedOnRoute = await AccessKit.SendAsync(gateway.Client, "GET", "/legacy/a", key.Plaintext);
        var forwarded = await AccessKit.SendAsync(gateway.Client, "GET", "/passthrough/a", key.Plaintext);

        Assert.Equal(200, stripped.Status);
        Assert.Null(stripped.Upstream!.Header(AccessKit.KeyHeader));
        Assert.Equal("shop", stripped.Upstream.Header("Gatehouse-Application"));
        Assert.Null(strippedOnRoute.Upstream!.Header(AccessKit.KeyHeader));
        Assert.Equal(200, forwarded.Status);
        Assert.Equal(key.Plaintext, forwarded.Upstream!.Header(AccessKit.KeyHeader));
    }

    [Fact]
    public async Task QueryKey_IsReadOnlyOnRoutesThatAllowIt_AndRemovedFromTheUpstreamQuery()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var key = TestKey.New();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, AccessKit.Application("shop", "retail", key)));
        var escaped = Uri.EscapeDataString(key.Plaintext);

        var notAllowed = await AccessKit.SendAsync(gateway.Client, "GET", $"/users/42?api_key={escaped}");
        var allowed = await AccessKit.SendAsync(gateway.Client, "GET", $"/legacy/a?x=1&api_key={escaped}&y=2");
        var onlyKey = await AccessKit.SendAsync(gateway.Client, "GET", $"/legacy/a?API_KEY={escaped}");
        var forwarded = await AccessKit.SendAsync(gateway.Client, "GET", $"/passthrough/a?api_key={escaped}");
        var wrong = await AccessKit.SendAsync(gateway.Client, "GET", $"/legacy/a?api_key={Uri.EscapeDataString(TestKey.New().Plaintext)}");

        Assert.Equal(401, notAllowed.Status);
        Assert.Equal(200, allowed.Status);
        Assert.Equal("/legacy/a?x=1&y=2", allowed.Upstream!.RawTarget);
        Assert.Equal("shop", allowed.Upstream.Header("Gatehouse-Application"));
        Assert.Equal(200, onlyKey.Status);
        Assert.Equal("/legacy/a", onlyKey.Upstream!.RawTarget);
        Assert.Equal(200, forwarded.Status);
        Assert.Equal($"/passthrough/a?api_key={escaped}", forwarded.Upstream!.RawTarget);
        Assert.Equal(401, wrong.Status);
    }

    [Theory]
    [InlineData("pending", "retail")]
    [InlineData("suspended", "retail")]
    [InlineData("pending", "gold")]
    public async Task ApplicationNotLive_Gets403_NamingPlanAndOperation(string state, string plan)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var key = TestKey.New();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, AccessKit.Application("shop", plan, key, state)));

        var sent = await GetUserAsync(gateway, key.Plaintext);

        Assert.Equal(403, sent.Status);
        Assert.Contains($"plan '{plan}'", sent.Detail, StringComparison.Ordinal);
        Assert.Contains("operation 'users.getUser'", sent.Detail, StringComparison.Ordinal);
        Assert.Contains(state, sent.Detail, StringComparison.Ordinal);
    }
}
