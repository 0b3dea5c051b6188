using System.Collections.Concurrent;
using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>
/// Hot reload: "A valid change is applied atomically: in-flight requests finish on the old revision, new ones
/// use the new one, nothing is dropped. An invalid change is rejected with its errors logged and the last good
/// config keeps serving."
/// </summary>
public sealed class HotReloadTests
{
    private const string ConfigName = "gatehouse.yaml";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ValidChange_ToConfigFile_IsAppliedAndNewRequestsUseIt(bool replaceByRename)
    {
        await using var a = await StartNamedAsync("A");
        await using var b = await StartNamedAsync("B");
        using var dir = new TempDirectory();
        var path = dir.Write(ConfigName, TestGateway.SimpleYaml(a.Url));
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(a.Url), configPath: path);
        var before = await GetTextAsync(gateway, "/who");
        var applied = NextRevisionAsync(gateway);

        if (replaceByRename)
        {
            dir.Replace(ConfigName, TestGateway.SimpleYaml(b.Url));
        }
        else
        {
            dir.Write(ConfigName, TestGateway.SimpleYaml(b.Url));
        }

        var revision = await applied.WaitAsync(Patience);

        Assert.Equal("A", before);
        Assert.Equal(2, revision);
        Assert.Equal("B", await GetTextAsync(gateway, "/who"));
    }

    [Theory]
    [InlineData("unknown-service", "routes.all.service")]
    [InlineData("unknown-property", "retries")]
    [InlineData("bad-yaml", "not valid YAML")]
    [InlineData("wrong-shape", "services")]
    [InlineData("empty", "empty")]
    public async Task InvalidChange_IsRejectedWithErrorsLogged_AndLastGoodConfigKeepsServing(string kind, string expectedInError)
    {
        await using var a = await StartNamedAsync("A");
        await using var b = await StartNamedAsync("B");
        using var dir = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        var path = dir.Write(ConfigName, TestGateway.SimpleYaml(a.Url));
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(a.Url), configPath: path, logs: logs);
        var revisions = new ConcurrentQueue<long>();
        gateway.Host.Runtime.Applied += s => revisions.Enqueue(s.Revision);

        dir.Write(ConfigName, InvalidYaml(kind, b.Url));
        await logs.WaitForAsync(e => e.Level == LogLevel.Error && e.Message.Contains("is not valid", StringComparison.Ordinal), Patience);
        var error = await logs.WaitForAsync(e => e.Level == LogLevel.Error && e.Message.Contains(expectedInError, StringComparison.Ordinal), Patience);
        var whileInvalid = await GetTextAsync(gateway, "/who");

        // The watcher is still alive after a bad file: the next good one goes live.
        var applied = NextRevisionAsync(gateway);
        dir.Write(ConfigName, TestGateway.SimpleYaml(b.Url));
        var revision = await applied.WaitAsync(Patience);

        Assert.Equal("A", whileInvalid);
        Assert.Contains(expectedInError, error.Message, StringComparison.Ordinal);
        Assert.Equal([2L], revisions);
        Assert.Equal(2, revision);
        Assert.Equal("B", await GetTextAsync(gateway, "/who"));
    }

    [Fact]
    public async Task InFlightRequests_DuringReload_CompleteOnTheOldBackend()
    {
        var waitingForHeaders = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var midBody = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var a = await TestBackend.StartAsync(async context =>
        {
            switch (context.Request.Path.Value)
            {
                case "/slow-headers":
                    waitingForHeaders.TrySetResult();
                    await release.Task.WaitAsync(Patience);
                    await context.Response.WriteAsync("A slow headers");
                    break;
                case "/slow-body":
                    await context.Response.WriteAsync("A first half, ");
                    await context.Response.Body.FlushAsync();
                    midBody.TrySetResult();
                    await release.Task.WaitAsync(Patience);
                    await context.Response.WriteAsync("second half");
                    break;
                default:
                    await context.Response.WriteAsync("A");
                    break;
            }
        });
        await using var b = await StartNamedAsync("B");
        using var dir = new TempDirectory();
        var path = dir.Write(ConfigName, TestGateway.SimpleYaml(a.Url));
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(a.Url), configPath: path);

        var slowHeaders = gateway.Client.GetAsync("/slow-headers");
        var slowBody = gateway.Client.GetAsync("/slow-body");
        await Task.WhenAll(waitingForHeaders.Task, midBody.Task).WaitAsync(Patience);
        var applied = NextRevisionAsync(gateway);
        dir.Write(ConfigName, TestGateway.SimpleYaml(b.Url));
        await applied.WaitAsync(Patience);
        var afterReload = await GetTextAsync(gateway, "/who");
        release.SetResult();
        using var headersResponse = await slowHeaders.WaitAsync(Patience);
        using var bodyResponse = await slowBody.WaitAsync(Patience);

        Assert.Equal("B", afterReload);
        Assert.Equal(HttpStatusCode.OK, headersResponse.StatusCode);
        Assert.Equal("A slow headers", await headersResponse.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, bodyResponse.StatusCode);
        Assert.Equal("A first half, second half", await bodyResponse.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ReloadUnderLoad_DropsNothing_AndBothRevisionsServe()
    {
        const int reloads = 40;
        const int workers = 4;
        await using var a = await StartNamedAsync("A");
        await using var b = await StartNamedAsync("B");
        var logs = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(a.Url), logs: logs);
        var configA = TestGateway.Parse(TestGateway.SimpleYaml(a.Url));
        var configB = TestGateway.Parse(TestGateway.SimpleYaml(b.Url));
        var failures = new ConcurrentQueue<string>();
        var served = new ConcurrentDictionary<string, int>();
        long completed = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(40));

        async Task WorkAsync(int worker)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var payload = $"w{worker}-{i}";
                try
                {
                    using var response = i % 2 == 0
                        ? await gateway.Client.GetAsync($"/load/{payload}")
                        : await gateway.Client.PostAsync($"/load/{payload}", new StringContent(payload));
                    var body = await response.Content.ReadAsStringAsync();
                    var expectedSuffix = i % 2 == 0 ? "" : ":" + payload;
                    if (response.StatusCode != HttpStatusCode.OK || body.Length < 1 || body[1..] != expectedSuffix)
                    {
                        failures.Enqueue($"{payload}: {(int)response.StatusCode} {body}");
                    }
                    else
                    {
                        served.AddOrUpdate(body[..1], 1, (_, n) => n + 1);
                    }
                }
                catch (Exception e)
                {
                    failures.Enqueue($"{payload}: {e.GetType().Name}: {e.Message}");
                }

                Interlocked.Increment(ref completed);
            }
        }

        var load = Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkAsync(w))).ToArray();
        for (var i = 1; i <= reloads; i++)
        {
            // Let each revision serve some requests before the next change: pacing by progress, not by time.
            var mark = Interlocked.Read(ref completed) + 10;
            await Wait.UntilAsync(() => Interlocked.Read(ref completed) >= mark, Patience, $"requests to complete before reload {i}");
            Assert.Empty(gateway.Host.Runtime.Apply(i % 2 == 1 ? configB : configA));
        }

        var final = Interlocked.Read(ref completed) + 10;
        await Wait.UntilAsync(() => Interlocked.Read(ref completed) >= final, Patience, "requests to complete after the last reload");
        await stop.CancelAsync();
        await Task.WhenAll(load).WaitAsync(Patience);

        Assert.True(failures.IsEmpty, $"{failures.Count} of {completed} requests failed, e.g.:{Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(5))}"
            + $"{Environment.NewLine}Gateway errors:{Environment.NewLine}{string.Join(Environment.NewLine, logs.Entries.Where(e => e.Level >= LogLevel.Warning).Take(5))}");
        Assert.Equal(reloads + 1, gateway.Host.Runtime.Current.Revision);
        Assert.True(served.GetValueOrDefault("A") > 0, "backend A served nothing");
        Assert.True(served.GetValueOrDefault("B") > 0, "backend B served nothing");
    }

    [Fact]
    public async Task ChangedBodyLimit_AppliesToNewRequests()
    {
        await using var backend = await StartNamedAsync("A");
        await using var gateway = await TestGateway.StartAsync(BodyLimitYaml(backend.Url, "10KB"));
        var body = new string('x', 50_000);

        using var before = await gateway.Client.PostAsync("/upload", new StringContent(body));
        Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(BodyLimitYaml(backend.Url, "1MB"))));
        using var after = await gateway.Client.PostAsync("/upload", new StringContent(body));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, before.StatusCode);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("A:" + body, await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ChangedListeners_AreReported_AndTheRestOfTheChangeIsApplied()
    {
        // Listeners are bound at start; a reload cannot move them, and says so instead of ignoring the change.
        await using var a = await StartNamedAsync("A");
        await using var b = await StartNamedAsync("B");
        using var dir = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        var yaml = WithListener(TestGateway.SimpleYaml(a.Url), "http://127.0.0.1:0");
        var path = dir.Write(ConfigName, yaml);
        await using var gateway = await TestGateway.StartAsync(yaml, configPath: path, logs: logs);
        var applied = NextRevisionAsync(gateway);

        dir.Write(ConfigName, WithListener(TestGateway.SimpleYaml(b.Url), "http://127.0.0.1:0\n      protocols: http2"));
        await applied.WaitAsync(Patience);
        var warning = await logs.WaitForAsync(e => e.Level == LogLevel.Warning && e.Message.Contains("gateway.listeners", StringComparison.Ordinal), Patience);

        Assert.Contains("restart", warning.Message, StringComparison.Ordinal);
        Assert.Equal("B", await GetTextAsync(gateway, "/who"));
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("gateway.maxRequestHeadersSize", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ChangedObservabilitySettings_AreReported_ButTheAccessLogsSamplingIsNot()
    {
        // The usage queue, the metrics and the access log's writer are made at start; a reload that changes them says so
        // instead of being silently ignored. The access log's sampling is read per request, so it needs no restart.
        await using var a = await StartNamedAsync("A");
        using var dir = new TempDirectory();
        var logs = new CapturingLoggerProvider();
        string Yaml(string accessLog, string usage = "", string metrics = "") =>
            TestGateway.SimpleYaml(a.Url).Replace("gateway:\n", $"gateway:\n  observability:\n    accessLog: {accessLog}\n{usage}{metrics}", StringComparison.Ordinal);
        var log = Path.Combine(dir.Path, "access.log");
        await using var gateway = await TestGateway.StartAsync(Yaml($"{{ path: \"{log}\" }}"), logs: logs);
        string[] Warned() => [.. logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.StartsWith("gateway.observability", StringComparison.Ordinal)).Select(e => e.Message)];

        Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(Yaml($"{{ path: \"{log}\", sampleRate: 0.5, errorsOnly: true }}"))));
        Assert.Empty(Warned());

        Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(Yaml($"{{ path: \"{log}.2\" }}"))));
        Assert.Contains(Warned(), m => m.StartsWith("gateway.observability.accessLog changed", StringComparison.Ordinal));

        Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(Yaml($"{{ path: \"{log}.2\" }}", usage: "    usage: { flushInterval: 30s }\n", metrics: "    metrics: { applicationLabel: true }\n"))));
        Assert.Contains(Warned(), m => m.StartsWith("gateway.observability.usage changed", StringComparison.Ordinal));
        Assert.Contains(Warned(), m => m.StartsWith("gateway.observability.metrics changed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RetiringUpstream_RefusesNewRequests_AndWaitsForBegunOnes()
    {
        // The reload race in miniature: a request that read the old snapshot reaches TryBeginRequest only after
        // the reload began retiring that snapshot's upstream. It must be refused (the handler then routes again
        // on the new snapshot) instead of using connections that are being closed.
        var service = new ServiceConfig { Targets = [new TargetConfig { Url = "http://127.0.0.1:9" }] };
        await using var upstream = new Upstream("svc", service, TimeProvider.System, NullLoggerFactory.Instance);
        var destination = upstream.Destinations[0];

        Assert.True(upstream.TryBeginRequest(destination));
        var retire = upstream.RetireAsync(Patience);
        var refused = !upstream.TryBeginRequest(destination);
        var waitedForBegun = !retire.IsCompleted;
        upstream.EndRequest(destination, failed: false);
        await retire.WaitAsync(Patience);

        Assert.True(refused, "a retiring upstream accepted a new request");
        Assert.True(waitedForBegun, "retirement did not wait for the request in flight");
        Assert.Equal(0, upstream.InFlight);
    }

    /// <summary>A backend that answers its name, plus ":" and the request body when there is one.</summary>
    private static Task<TestBackend> StartNamedAsync(string name) => TestBackend.StartAsync(async context =>
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        await context.Response.WriteAsync(body.Length == 0 ? name : $"{name}:{body}");
    });

    private static async Task<string> GetTextAsync(TestGateway gateway, string path)
    {
        using var response = await gateway.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Completes with the revision number of the next snapshot that goes live.</summary>
    private static Task<long> NextRevisionAsync(TestGateway gateway)
    {
        var next = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Host.Runtime.Applied += s => next.TrySetResult(s.Revision);
        return next.Task;
    }

    private static string BodyLimitYaml(string backendUrl, string limit) =>
        TestGateway.SimpleYaml(backendUrl).Replace("maxRequestBodySize: 100MB", $"maxRequestBodySize: {limit}", StringComparison.Ordinal);

    private static string WithListener(string yaml, string listener) =>
        yaml.Replace("gateway:\n", $"gateway:\n  listeners:\n    - url: {listener}\n", StringComparison.Ordinal);

    private static string InvalidYaml(string kind, string backendUrl) => kind switch
    {
        "unknown-service" => TestGateway.SimpleYaml(backendUrl).Replace("service: backend", "service: backnd", StringComparison.Ordinal),
        "unknown-property" => TestGateway.SimpleYaml(backendUrl).Replace("    timeout: 30s", "    timeout: 30s\n    retries: 3", StringComparison.Ordinal),
        "bad-yaml" => "version: 1\nservices: [\n  backend: {",
        "wrong-shape" => "version: 1\nservices: 5\nroutes:\n  - a\n  - b\n",
        "empty" => "",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
