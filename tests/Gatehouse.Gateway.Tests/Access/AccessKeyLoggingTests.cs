using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>Issue #3: an API key's plaintext is in no config and in no log line, not even at Debug.</summary>
public sealed class AccessKeyLoggingTests
{
    [Fact]
    public async Task KeysValidInvalidExpiredAndInTheQuery_AppearInNoLogLine_AtDebug()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var live = TestKey.New();
        var expired = TestKey.New();
        var suspended = TestKey.New();
        var unknown = TestKey.New();
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerProvider();
        var yaml = "version: 1\n" + AccessKit.ServicesAndRoutes(backend.Url, "  legacy: { path: \"/legacy/{**rest}\", service: users, apiKeyInQuery: true }\n") + """
            plans:
              retail:
                include: [ { tag: users, access: read }, { route: legacy } ]
                limits: [ { requests: 2, per: minute }, { requests: 1, per: minute, mode: shadow } ]
              lax:
                mode: shadow
                include: [ { tag: products, access: read } ]
            accounts: { acme: {} }
            applications:

            """
            + AccessKit.Application("shop", "retail", live)
            + AccessKit.Application("old", "retail", expired, expires: time.GetUtcNow().AddMinutes(1))
            + AccessKit.Application("stopped", "lax", suspended, "suspended");
        await using var gateway = await TestGateway.StartAsync(yaml, time: time, logs: logs, minimumLogLevel: LogLevel.Debug);
        time.Advance(TimeSpan.FromMinutes(2));

        var statuses = new List<int>();
        foreach (var key in new[] { live, live, live, expired, suspended, unknown })
        {
            statuses.Add((await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext)).Status);
        }

        statuses.Add((await AccessKit.SendAsync(gateway.Client, "GET", $"/legacy/a?api_key={Uri.EscapeDataString(unknown.Plaintext)}")).Status);
        statuses.Add((await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", null, ("Authorization", "Bearer " + unknown.Plaintext))).Status);
        statuses.Add((await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", live.Plaintext, (AccessKit.KeyHeader, unknown.Plaintext))).Status);

        // The requests did what they should, and Debug logging was on and wrote something about them.
        Assert.Equal([200, 200, 429, 401, 200, 401, 401, 401, 401], statuses);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Debug);
        Assert.DoesNotContain(yaml, live.Plaintext, StringComparison.Ordinal);
        foreach (var key in new[] { live, expired, suspended, unknown })
        {
            // The random part alone, so a log line that kept only the prefix off would be caught too.
            var secret = key.Plaintext["ghk_".Length..];
            Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(Uri.EscapeDataString(secret), StringComparison.Ordinal));
        }
    }
}
