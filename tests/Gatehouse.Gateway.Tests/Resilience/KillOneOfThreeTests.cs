using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Resilience;

/// <summary>Issue 20: one of three backends dies under load; retries and ejection keep idempotent calls whole.</summary>
public sealed class KillOneOfThreeTests
{
    [Fact]
    public async Task OneBackendKilledUnderLoad_IdempotentCallsDoNotFail_AndTheDeadOneIsEjected()
    {
        var served = new int[3];
        var backends = new TestBackend[3];
        for (var i = 0; i < 3; i++)
        {
            var index = i;
            backends[i] = await TestBackend.StartAsync(context =>
            {
                Interlocked.Increment(ref served[index]);
                return context.Response.WriteAsync("ok");
            });
        }

        var logs = new CapturingLoggerProvider();
        try
        {
            await using var gateway = await TestGateway.StartAsync($$"""
                version: 1
                services:
                  svc:
                    targets: [{{string.Join(", ", backends.Select(b => b.Url))}}]
                    retry: { backOff: 0s, maxBackOff: 0s }
                    # Four clients: at this concurrency the default budget lets at most 3 requests hold a retry at once
                    # (as Envoy's min_retry_concurrency), and a CI run once refused one ("the service's retry budget is
                    # spent", 1 of 499; the rate part has ample room here, so most likely three held one). The budget
                    # has tests of its own; here it allows one retry per client, so what is tested is that retries and
                    # ejection keep every call whole.
                    retryBudget: { minActive: 4 }
                    outlierDetection: { consecutiveFailures: 3, maxEjectedPercent: 34 }
                routes:
                  all: { path: "/{**rest}", service: svc }
                """, logs: logs, minimumLogLevel: Microsoft.Extensions.Logging.LogLevel.Debug);

            var failed = 0;
            var total = 0;
            string? firstFailure = null;
            using var stop = new CancellationTokenSource();
            async Task Load()
            {
                while (!stop.IsCancellationRequested)
                {
                    using var response = await gateway.Client.GetAsync("/x");
                    Interlocked.Increment(ref total);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref failed);
                        var attempts = response.Headers.TryGetValues("Gatehouse-Attempts", out var values) ? string.Join(",", values) : "1";
                        Interlocked.CompareExchange(ref firstFailure, $"{(int)response.StatusCode} after {attempts} attempt(s): {await response.Content.ReadAsStringAsync()}", null);
                    }
                }
            }

            var load = Enumerable.Range(0, 4).Select(_ => Task.Run(Load)).ToArray();
            await Wait.UntilAsync(() => Volatile.Read(ref total) > 100, "load to start");
            await backends[1].DisposeAsync();
            await Wait.UntilAsync(() => logs.Entries.Any(e => e.Message.Contains("ejected", StringComparison.Ordinal)), "the dead backend to be ejected");
            var atEjection = Volatile.Read(ref total);
            await Wait.UntilAsync(() => Volatile.Read(ref total) > atEjection + 300, "more load after the ejection");
            stop.Cancel();
            await Task.WhenAll(load);

            // Connection refusals are retried on a live backend, during detection as after it.
            // (A CI run once had 1 of 669 fail after one attempt; the forwarder's own account of attempts it did not retry, or
            // of the upstream's failure, is in the message if it happens again.)
            Assert.True(Volatile.Read(ref failed) == 0, $"{failed} of {total} failed; the first: {firstFailure}; the forwarder said: "
                + string.Join(" | ", logs.Entries.Select(e => e.Message).Where(m => m.Contains("not retried", StringComparison.Ordinal) || m.Contains("unreachable", StringComparison.Ordinal)).Distinct().Take(8)));
        }
        finally
        {
            foreach (var b in backends)
            {
                await b.DisposeAsync();
            }
        }
    }
}
