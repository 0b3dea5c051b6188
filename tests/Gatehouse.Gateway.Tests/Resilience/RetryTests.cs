using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Resilience;

/// <summary>Issue 20: retries through a real gateway to real Kestrel backends.</summary>
public sealed class RetryTests
{
    private static string Config(string targets, string retry, string extra = "") => $$"""
        version: 1
        gateway:
          maxRequestBodySize: 200MB
        services:
          svc:
            targets: [{{targets}}]
            retry: {{retry}}
        {{extra}}
        routes:
          all: { path: "/{**rest}", service: svc }
        """;

    [Fact]
    public async Task BackendsFailing30Percent_IdempotentGets_SucceedAtLeast999Permille()
    {
        // Seeded, so the test sees the same failures every run; each backend fails 30% of its requests on its own.
        var randoms = new[] { new Random(20), new Random(21) };
        TestBackend[] backends = new TestBackend[2];
        for (var i = 0; i < backends.Length; i++)
        {
            var random = randoms[i];
            backends[i] = await TestBackend.StartAsync(context =>
            {
                bool fail;
                lock (random)
                {
                    fail = random.NextDouble() < 0.3;
                }

                context.Response.StatusCode = fail ? 503 : 200;
                return Task.CompletedTask;
            });
        }

        try
        {
            // Budget raised: a 30% failure rate is past the default budget's 20%, which would (rightly) stop retrying.
            await using var gateway = await TestGateway.StartAsync(Config(
                string.Join(", ", backends.Select(b => b.Url)),
                "{ attempts: 6, backOff: 0s, maxBackOff: 0s }",
                "    retryBudget: { activePercent: 100, ratePercent: 100, minPerSecond: 1000 }"));
            var ok = 0;
            const int total = 1000;
            for (var i = 0; i < total; i++)
            {
                using var response = await gateway.Client.GetAsync("/x");
                ok += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
            }

            Assert.True(ok >= 999, $"{ok} of {total} succeeded");
        }
        finally
        {
            foreach (var b in backends)
            {
                await b.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData(false, HttpStatusCode.ServiceUnavailable, 1)]
    [InlineData(true, HttpStatusCode.OK, 2)]
    public async Task Post_IsRetriedOnlyWhenOptedIn(bool nonIdempotent, HttpStatusCode expected, int calls)
    {
        var count = 0;
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            await new StreamReader(context.Request.Body).ReadToEndAsync();
            context.Response.StatusCode = Interlocked.Increment(ref count) == 1 ? 503 : 200;
        });
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url, $"{{ nonIdempotent: {(nonIdempotent ? "true" : "false")}, backOff: 0s, maxBackOff: 0s }}"));

        using var response = await gateway.Client.PostAsync("/orders", new StringContent("{\"item\":1}"));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(calls, Volatile.Read(ref count));
        Assert.Equal(calls > 1 ? "2" : null, response.Headers.TryGetValues("Gatehouse-Attempts", out var v) ? v.Single() : null);
    }

    [Fact]
    public async Task Post_ThatNeverReachedTheUpstream_IsRetried()
    {
        var count = 0;
        await using var live = await TestBackend.StartAsync(async context =>
        {
            Interlocked.Increment(ref count);
            await context.Response.WriteAsync(await new StreamReader(context.Request.Body).ReadToEndAsync());
        });
        var dead = await TestBackend.StartAsync(_ => Task.CompletedTask);
        var deadUrl = dead.Url;
        await dead.DisposeAsync(); // its port now refuses connections

        await using var gateway = await TestGateway.StartAsync(Config($"{deadUrl}, {live.Url}", "{ backOff: 0s, maxBackOff: 0s }"));
        for (var i = 0; i < 6; i++)
        {
            using var response = await gateway.Client.PostAsync("/orders", new StringContent($"body {i}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"body {i}", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(6, Volatile.Read(ref count));
    }

    [Fact]
    public async Task OneMegabytePost_OptedIn_IsReplayedByteForByte()
    {
        var hashes = new List<string>();
        var count = 0;
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            using var memory = new MemoryStream();
            await context.Request.Body.CopyToAsync(memory);
            lock (hashes)
            {
                hashes.Add(Convert.ToHexString(SHA256.HashData(memory.ToArray())));
            }

            context.Response.StatusCode = Interlocked.Increment(ref count) == 1 ? 502 : 200;
        });
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url, "{ nonIdempotent: true, maxBodySize: 2MB, backOff: 0s, maxBackOff: 0s }"));
        var body = new byte[1024 * 1024];
        new Random(7).NextBytes(body);

        using var response = await gateway.Client.PostAsync("/upload", new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = Convert.ToHexString(SHA256.HashData(body));
        Assert.Equal([expected, expected], hashes);
    }

    [Fact]
    public async Task HundredMegabytePost_IsStreamed_AndNeverRetried()
    {
        var count = 0;
        long received = 0;
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            Interlocked.Increment(ref count);
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
            {
                Interlocked.Add(ref received, read);
            }

            context.Response.StatusCode = 503;
        });
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url, "{ nonIdempotent: true, backOff: 0s, maxBackOff: 0s }"));

        using var response = await gateway.Client.PostAsync("/upload", new PatternContent(100L * 1024 * 1024));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, Volatile.Read(ref count));
        Assert.Equal(100L * 1024 * 1024, Interlocked.Read(ref received));
    }

    [Fact]
    public async Task RetryStorm_EveryBackendFailing_RetriesStayWithinTheBudget()
    {
        var calls = 0;
        var backends = new List<TestBackend>();
        for (var i = 0; i < 3; i++)
        {
            backends.Add(await TestBackend.StartAsync(context =>
            {
                Interlocked.Increment(ref calls);
                context.Response.StatusCode = 503;
                return Task.CompletedTask;
            }));
        }

        try
        {
            await using var gateway = await TestGateway.StartAsync(Config(
                string.Join(", ", backends.Select(b => b.Url)),
                "{ attempts: 5, backOff: 0s, maxBackOff: 0s }",
                "    retryBudget: { ratePercent: 20, minPerSecond: 0, window: 1m }"));
            const int requests = 300;
            for (var i = 0; i < requests; i++)
            {
                using var response = await gateway.Client.GetAsync("/x");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            }

            // Without the budget, 4 retries each would be 1,500 calls; with it, at most 20% more than the requests.
            Assert.InRange(Volatile.Read(ref calls), requests, requests * 120 / 100 + 1);
        }
        finally
        {
            foreach (var b in backends)
            {
                await b.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task RetryAfter_WithinTheCap_IsWaitedFor_AndOverTheCap_IsPassedOn()
    {
        var count = 0;
        var retryAfter = "1";
        await using var backend = await TestBackend.StartAsync(context =>
        {
            if (Interlocked.Increment(ref count) % 2 == 1)
            {
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = Volatile.Read(ref retryAfter);
            }

            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync(Config(backend.Url, "{ retryOn: [429], maxRetryAfter: 2s }"));

        using (var retried = await gateway.Client.GetAsync("/x"))
        {
            Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
            Assert.Equal("2", retried.Headers.GetValues("Gatehouse-Attempts").Single());
        }

        Volatile.Write(ref retryAfter, "30");
        using var passed = await gateway.Client.GetAsync("/x");
        Assert.Equal((HttpStatusCode)429, passed.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), passed.Headers.RetryAfter?.Delta);
        Assert.False(passed.Headers.Contains("Gatehouse-Attempts"));
    }

    [Fact]
    public async Task DeadlineHeader_TellsTheUpstreamTheTimeLeft()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              svc:
                targets: [{{backend.Url}}]
                timeout: 5s
                deadlineHeader: Gatehouse-Deadline-Ms
            routes:
              all: { path: "/{**rest}", service: svc }
            """);

        var echo = await gateway.Client.GetFromJsonAsync<EchoResponse>("/x");

        var left = long.Parse(echo!.Header("Gatehouse-Deadline-Ms")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(left, 1, 5000);
    }
}

/// <summary>Issue 20: a composition's steps carry the same deadline header as proxied requests.</summary>
public sealed class CompositionDeadlineHeaderTests
{
    [Fact]
    public async Task CompositionStep_GetsTheTimeLeftOfTheRunsDeadline()
    {
        string? seen = null;
        await using var backend = await TestBackend.StartAsync(context =>
        {
            seen = context.Request.Headers["Gatehouse-Deadline-Ms"].ToString();
            return context.Response.WriteAsJsonAsync(new { name = "ann" });
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              users:
                targets: [{{backend.Url}}]
                deadlineHeader: Gatehouse-Deadline-Ms
            compositions:
              profile:
                path: /profile
                deadline: 3s
                steps:
                  user: { service: users, path: /user }
                response: { name: "@user.body.name" }
            """);

        using var response = await gateway.Client.GetAsync("/profile");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.InRange(long.Parse(seen!, System.Globalization.CultureInfo.InvariantCulture), 1, 3000);
    }
}
