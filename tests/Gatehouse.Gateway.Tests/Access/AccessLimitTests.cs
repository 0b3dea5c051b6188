using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue #3, limits end to end on a fake clock: 429 with exact <c>Retry-After</c> and RateLimit fields, the fields on
/// admitted responses, day quotas rolling at 00:00 UTC, shadow limits, shadow plans, shadow authentication, and
/// anonymous limits per client address.
/// </summary>
public sealed class AccessLimitTests
{
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static string Yaml(string backendUrl, string gateway, string plans, string applications) =>
        $"version: 1\ngateway:\n{gateway}" + AccessKit.ServicesAndRoutes(backendUrl) + "plans:\n" + plans + "accounts: { acme: {} }\napplications:\n" + applications;

    private static async Task<(TestBackend Backend, TestGateway Gateway, FakeTimeProvider Time)> StartAsync(
        string plans, string applications, string gateway = "  trustedProxies: [127.0.0.1]\n", CapturingLoggerProvider? logs = null)
    {
        var backend = await TestBackend.StartEchoAsync();
        var time = new FakeTimeProvider();
        var gw = await TestGateway.StartAsync(Yaml(backend.Url, gateway, plans, applications), time: time, logs: logs, minimumLogLevel: logs is null ? LogLevel.Warning : LogLevel.Debug);
        return (backend, gw, time);
    }

    private static void At(FakeTimeProvider time, DateTimeOffset utc) => time.Advance(utc - time.GetUtcNow());

    [Fact]
    public async Task RequestAfterTheLimit_Gets429_WithExactRetryAfterAndRateLimitFields_AdmittedOnesCarryTheFields()
    {
        var key = TestKey.New();
        var (backend, gateway, time) = await StartAsync(
            "  retail:\n    include: [ { tag: users, access: read } ]\n    limits: [ { requests: 3, per: minute }, { requests: 100, per: day } ]\n",
            AccessKit.Application("shop", "retail", key));
        await using var _ = backend;
        await using var __ = gateway;
        At(time, Start.AddHours(12).AddSeconds(10));
        const string policy = "\"minute\";q=3;w=60, \"day\";q=100;w=86400";

        var admitted = new List<Sent>();
        for (var i = 0; i < 3; i++)
        {
            admitted.Add(await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext));
        }

        var refused = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);

        Assert.All(admitted, a => Assert.Equal(200, a.Status));
        Assert.All(admitted, a => Assert.Equal(policy, a.Header("RateLimit-Policy")));
        Assert.Equal(["\"minute\";r=2;t=50", "\"minute\";r=1;t=50", "\"minute\";r=0;t=50"], admitted.Select(a => a.Header("RateLimit")));
        Assert.Equal(429, refused.Status);
        Assert.Equal("50", refused.Header("Retry-After"));
        Assert.Equal(policy, refused.Header("RateLimit-Policy"));
        Assert.Equal("\"minute\";r=0;t=50", refused.Header("RateLimit"));
        Assert.Contains("urn:gatehouse:problem:rate-limited", refused.Body, StringComparison.Ordinal);

        // The refusal consumed nothing, and the next minute has room again.
        At(time, Start.AddHours(12).AddMinutes(1));
        var next = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        Assert.Equal(200, next.Status);
        Assert.Equal("\"minute\";r=2;t=60", next.Header("RateLimit"));
    }

    [Fact]
    public async Task DayQuota_RollsOverAtMidnightUtc()
    {
        var key = TestKey.New();
        var (backend, gateway, time) = await StartAsync(
            "  daily:\n    include: [ { tag: users, access: read } ]\n    limits: [ { requests: 2, per: day } ]\n",
            AccessKit.Application("shop", "daily", key));
        await using var _ = backend;
        await using var __ = gateway;
        At(time, new DateTimeOffset(2025, 3, 4, 23, 59, 30, TimeSpan.Zero));

        var first = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        var second = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        var refused = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        At(time, new DateTimeOffset(2025, 3, 4, 23, 59, 59, TimeSpan.Zero));
        var stillRefused = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        At(time, new DateTimeOffset(2025, 3, 5, 0, 0, 0, TimeSpan.Zero));
        var nextDay = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);

        Assert.Equal("\"day\";r=1;t=30", first.Header("RateLimit"));
        Assert.Equal("\"day\";r=0;t=30", second.Header("RateLimit"));
        Assert.Equal("\"day\";q=2;w=86400", second.Header("RateLimit-Policy"));
        Assert.Equal(429, refused.Status);
        Assert.Equal("30", refused.Header("Retry-After"));
        Assert.Contains("urn:gatehouse:problem:quota-exceeded", refused.Body, StringComparison.Ordinal);
        Assert.Equal(429, stillRefused.Status);
        Assert.Equal("1", stillRefused.Header("Retry-After"));
        Assert.Equal(200, nextDay.Status);
        Assert.Equal("\"day\";r=1;t=86400", nextDay.Header("RateLimit"));
    }

    [Fact]
    public async Task ShadowLimit_LetsEveryRequestThrough_CountsWhatItWouldDeny_AndIsNotAdvertised()
    {
        var key = TestKey.New();
        var logs = new CapturingLoggerProvider();
        var (backend, gateway, time) = await StartAsync(
            "  trial:\n    include: [ { tag: users, access: read } ]\n    limits: [ { requests: 1, per: minute, mode: shadow } ]\n",
            AccessKit.Application("shop", "trial", key), logs: logs);
        await using var _ = backend;
        await using var __ = gateway;
        At(time, Start.AddHours(1));

        var sent = new List<Sent>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add(await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext));
        }

        var policy = Assert.Single(gateway.Host.Runtime.Current.Access!.Plans.Single(p => p.Name == "trial").Limits.Policies);
        Assert.All(sent, s => Assert.Equal(200, s.Status));
        Assert.All(sent, s => Assert.Null(s.Header("RateLimit-Policy")));
        Assert.All(sent, s => Assert.Null(s.Header("RateLimit")));
        Assert.True(policy.IsShadow);
        Assert.Equal(2, policy.ShadowDenials);
        Assert.Equal(2, logs.Entries.Count(e => e.Message.Contains("Shadow limit 'minute' (1 requests) would have denied a request of application shop", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ShadowPlan_LetsANonGrantedCallThrough_AndLogsWhatItWouldRefuse()
    {
        var key = TestKey.New();
        var logs = new CapturingLoggerProvider();
        var (backend, gateway, _) = await StartAsync(
            "  lax:\n    mode: shadow\n    include: [ { tag: users, access: read } ]\n",
            AccessKit.Application("shop", "lax", key), logs: logs);
        await using var __ = backend;
        await using var ___ = gateway;

        var write = await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42", key.Plaintext);
        var anonymous = await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42");

        Assert.Equal(200, write.Status);
        Assert.Equal("PUT", write.Upstream!.Method);
        Assert.Equal("shop", write.Upstream.Header("Gatehouse-Application"));
        Assert.Equal("lax", write.Upstream.Header("Gatehouse-Plan"));
        Assert.Contains(logs.Entries, e => e.Message.Contains("Shadow mode (plan lax): not_granted on operation 'users.updateUser'", StringComparison.Ordinal));

        // A plan's shadow mode is about grants; it does not make a missing credential good.
        Assert.Equal(401, anonymous.Status);
    }

    [Fact]
    public async Task ShadowAuthentication_LetsKeylessAndBadKeyRequestsThrough_ButPlansStillDecideForKnownOnes()
    {
        var key = TestKey.New();
        var (backend, gateway, _) = await StartAsync(
            "  retail:\n    include: [ { tag: users, access: read } ]\n",
            AccessKit.Application("shop", "retail", key), gateway: "  authenticationMode: shadow\n");
        await using var __ = backend;
        await using var ___ = gateway;

        var keyless = await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42");
        var badKey = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", TestKey.New().Plaintext, ("Gatehouse-Application", "shop"));
        var notGranted = await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42", key.Plaintext);

        Assert.Equal(200, keyless.Status);
        Assert.Null(keyless.Upstream!.Header("Gatehouse-Application"));
        Assert.Equal(200, badKey.Status);
        Assert.Null(badKey.Upstream!.Header("Gatehouse-Application"));
        Assert.Null(badKey.Upstream.Header(AccessKit.KeyHeader));
        Assert.Equal(403, notGranted.Status);
    }

    [Fact]
    public async Task AnonymousLimits_CountPerClientAddress()
    {
        var (backend, gateway, time) = await StartAsync(
            "  retail:\n    include: [ { tag: users } ]\n  catalogue:\n    anonymous: true\n    include: [ { operation: products.list } ]\n    limits: [ { requests: 1, per: minute } ]\n",
            AccessKit.Application("shop", "retail", TestKey.New()));
        await using var _ = backend;
        await using var __ = gateway;
        At(time, Start.AddMinutes(5));

        var first = await AccessKit.SendAsync(gateway.Client, "GET", "/products", null, ("X-Forwarded-For", "203.0.113.1"));
        var again = await AccessKit.SendAsync(gateway.Client, "GET", "/products", null, ("X-Forwarded-For", "203.0.113.1"));
        var other = await AccessKit.SendAsync(gateway.Client, "GET", "/products", null, ("X-Forwarded-For", "203.0.113.2"));
        var direct = await AccessKit.SendAsync(gateway.Client, "GET", "/products");

        Assert.Equal(200, first.Status);
        Assert.Equal("catalogue", first.Upstream!.Header("Gatehouse-Plan"));
        Assert.Null(first.Upstream.Header("Gatehouse-Application"));
        Assert.Equal("\"minute\";r=0;t=60", first.Header("RateLimit"));
        Assert.Equal(429, again.Status);
        Assert.Equal("60", again.Header("Retry-After"));
        Assert.Equal(200, other.Status);
        Assert.Equal(200, direct.Status);
    }
}
