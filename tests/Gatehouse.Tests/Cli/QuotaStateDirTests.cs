using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Model.Access;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// <c>gatehouse run --config FILE --state-dir DIR</c>, with the real executable: a day's quota used before a stop is still
/// used after the restart (its counts are in DIR), and a second process on DIR while one runs is refused. Without
/// <c>--state-dir</c> the start says that quotas count in memory.
/// </summary>
public sealed class QuotaStateDirTests : IAsyncLifetime
{
    private const string Key = "ghk_state-dir-quota-key";
    private static readonly Regex Listening = new(@"listening on (http://\S+) ");
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "gatehouse-statedir-" + Guid.NewGuid().ToString("N")[..10]);
    private WebApplication? _backend;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        _backend = await RunRoleCommandTests.StartBackendAsync();
    }

    public async Task DisposeAsync()
    {
        await _backend!.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task DailyQuota_WithAStateDir_IsStillUsedAfterARestart_AndWithoutOneTheStartSaysItIsInMemory()
    {
        var config = Path.Combine(_folder, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, $$"""
            version: 1
            gateway: { listeners: [{ url: "http://127.0.0.1:0" }] }
            services:
              backend: { targets: ["{{_backend!.Urls.First()}}"] }
            routes:
              hello: { path: /hello, service: backend }
            plans:
              retail: { include: [{ route: hello }], limits: [{ requests: 3, per: day }] }
            accounts:
              acme: {}
            applications:
              shop: { account: acme, plan: retail, keys: [{ sha256: {{ApiKeyHash.Sha256Hex(Key)}} }] }
            """);
        var state = Path.Combine(_folder, "state");

        await using (var first = GatehouseProcess.Start("run", "--config", config, "--state-dir", state, "--admin-url", "http://127.0.0.1:0"))
        {
            var gateway = await GatewayAsync(first);
            Assert.Contains($"Quota counts are kept in {Path.Combine(state, "quota-counts.db")}.", first.StandardOutput, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, await CallAsync(gateway));
            Assert.Equal(HttpStatusCode.OK, await CallAsync(gateway));
            Assert.Equal(0, await first.StopAsync(TimeSpan.FromSeconds(30)));
        }

        await using (var second = GatehouseProcess.Start("run", "--config", config, "--state-dir", state, "--admin-url", "http://127.0.0.1:0"))
        {
            var gateway = await GatewayAsync(second);
            Assert.Equal(HttpStatusCode.OK, await CallAsync(gateway));
            Assert.Equal(HttpStatusCode.TooManyRequests, await CallAsync(gateway)); // 3 a day: the two before the restart count

            // A second gateway on the folder in use would overwrite its counts: refused in one line, the first untouched.
            var (code, _, stderr) = await GatehouseProcess.RunAsync("run", "--config", config, "--state-dir", state, "--admin-url", "http://127.0.0.1:0");
            Assert.Equal(2, code);
            Assert.Matches(new Regex($"^--state-dir {Regex.Escape(state)} is in use by another Gatehouse process \\(pid {second.Id} on .+\\): two gateways on one folder would overwrite each other's quota counts\\. Stop that one, or give this one a folder of its own\\.$"), stderr.Trim());
            Assert.Equal(HttpStatusCode.TooManyRequests, await CallAsync(gateway));
        }

        // Without --state-dir: a fresh count, and the start says so.
        await using var inMemory = GatehouseProcess.Start("run", "--config", config, "--admin-url", "http://127.0.0.1:0");
        var fresh = await GatewayAsync(inMemory);
        Assert.Contains("Quotas (per hour, day or month) count in memory and start over when this process restarts; --state-dir DIR keeps them.", inMemory.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await CallAsync(fresh));
    }

    private static async Task<string> GatewayAsync(GatehouseProcess process)
    {
        await process.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        // The line after it (where quota counts are kept) is written right after; wait for the process to have written both.
        await process.WaitForOutputAsync(new Regex(@"Quota counts are kept in|Quotas \(per hour"), TimeSpan.FromSeconds(10));
        return Listening.Match(process.StandardOutput).Groups[1].Value.TrimEnd(',');
    }

    private static async Task<HttpStatusCode> CallAsync(string gateway)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway + "/hello");
        request.Headers.Add("X-Api-Key", Key);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
