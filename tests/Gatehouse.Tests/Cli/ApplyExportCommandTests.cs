using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary><c>gatehouse apply</c> and <c>gatehouse export</c> against a real <c>gatehouse run --store</c> (#5 items 3 and 6).</summary>
public sealed class ApplyExportCommandTests
{
    private const string Token = "gha_apply-export-test-token";

    private const string FileA = """
        version: 1
        services:
          users: { targets: ["${USERS_URL}"], timeout: 5s }
          old: { targets: ["http://127.0.0.1:5109"] }
        routes:
          users-get: { methods: [GET], path: "/users/{id}", service: users }
        plans:
          retail: { approvalRequired: true, title: "Retail: 10 $$ a month" }
        accounts:
          acme: {}
        applications:
          shop:
            account: acme
            plan: retail
            keys: [ { sha256: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", prefix: ghk_abcd, expires: "2027-01-31T00:00:00Z" } ]
        """;

    private static readonly Regex Listening = new(@"admin API on (http://[^\s]+)\. ");

    [Fact]
    public async Task Apply_DryRunThenTwice_IsOneRevision_BadFileAndWrongTokenChangeNothing()
    {
        using var folder = new TempFolder();
        await using var gateway = await StartAsync(folder);
        var admin = await gateway.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        var a = folder.Write("a.yaml", FileA);

        var dry = await RunAsync("apply", "-f", a, "--dry-run", "--admin-url", admin);
        Assert.True(dry.ExitCode == 0, dry.Stderr);
        Assert.Contains("+ created  route/users-get", dry.Stdout, StringComparison.Ordinal);
        Assert.Contains("6 created, 0 updated, 0 deleted", dry.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, await RevisionAsync(admin));

        var first = await RunAsync("apply", "-f", a, "--admin-url", admin);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("Applied as revision 1.", first.Stdout, StringComparison.Ordinal);
        var second = await RunAsync("apply", "-f", a, "--admin-url", admin);
        Assert.Contains("0 created, 0 updated, 0 deleted", second.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, await RevisionAsync(admin));

        // Resolved by the CLI: the store holds the value, and a '$' written '$$' stays one '$' when the server loads it.
        var config = await GetConfigAsync(admin);
        Assert.Equal("http://127.0.0.1:5301", (string)config["services"]!["users"]!["targets"]![0]!);
        Assert.Equal("Retail: 10 $$ a month", (string)config["plans"]!["retail"]!["title"]!);

        var changed = folder.Write("b.yaml", FileA.Replace("  old: { targets: [\"http://127.0.0.1:5109\"] }\n", "", StringComparison.Ordinal).Replace("timeout: 5s", "timeout: 7s", StringComparison.Ordinal));
        var update = await RunAsync("apply", "-f", changed, "--admin-url", admin);
        Assert.True(update.ExitCode == 0, update.Stderr);
        Assert.Contains("~ updated  service/users", update.Stdout, StringComparison.Ordinal);
        Assert.Contains("- deleted  service/old", update.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 created, 1 updated, 1 deleted", update.Stdout, StringComparison.Ordinal);
        Assert.Equal(2, await RevisionAsync(admin));

        var bad = folder.Write("bad.yaml", FileA.Replace("service: users", "service: nowhere", StringComparison.Ordinal).Replace("acme: {}", "acme: { colour: red }", StringComparison.Ordinal));
        var refused = await RunAsync("apply", "-f", bad, "--admin-url", admin);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("routes.users-get.service", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("accounts.acme.colour", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, await RevisionAsync(admin));

        var wrongToken = await RunAsync("apply", "-f", a, "--admin-url", admin, "--token", "gha_wrong");
        Assert.Equal(2, wrongToken.ExitCode);
        Assert.Contains("refused the token (401)", wrongToken.Stderr, StringComparison.Ordinal);
        var nobody = await RunAsync("apply", "-f", a, "--admin-url", "http://127.0.0.1:1");
        Assert.Equal(2, nobody.ExitCode);
        Assert.Contains("Cannot reach the admin API", nobody.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, await RevisionAsync(admin));
    }

    [Fact]
    public async Task Export_ThenApplyTheExport_ChangesNothing_AndHoldsNoSecrets()
    {
        using var folder = new TempFolder();
        await using var gateway = await StartAsync(folder);
        var admin = await gateway.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        var applied = await RunAsync("apply", "-f", folder.Write("a.yaml", FileA), "--admin-url", admin);
        Assert.True(applied.ExitCode == 0, applied.Stderr);
        var before = await GetConfigAsync(admin);

        var exportPath = Path.Combine(folder.Path, "export.yaml");
        var export = await RunAsync("export", "--admin-url", admin, "-o", exportPath);
        Assert.True(export.ExitCode == 0, export.Stderr);
        var yaml = await File.ReadAllTextAsync(exportPath);
        Assert.DoesNotContain(Token, yaml, StringComparison.Ordinal);
        Assert.Contains("prefix: ghk_abcd", yaml, StringComparison.Ordinal);
        Assert.Equal(0, (await GatehouseProcess.RunAsync("validate", exportPath)).ExitCode);

        var again = await RunAsync("apply", "-f", exportPath, "--admin-url", admin);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("0 created, 0 updated, 0 deleted", again.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, await RevisionAsync(admin));
        Assert.True(JsonNode.DeepEquals(before, await GetConfigAsync(admin)));
    }

    private static async Task<GatehouseProcess> StartAsync(TempFolder folder)
    {
        var store = "sqlite:" + Path.Combine(folder.Path, "gatehouse.db");
        return GatehouseProcess.Start(Environment(), "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0");
    }

    private static Dictionary<string, string> Environment() => new()
    {
        ["GATEHOUSE_ADMIN_TOKEN"] = Token,
        ["USERS_URL"] = "http://127.0.0.1:5301",
    };

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args) => GatehouseProcess.RunAsync(Environment(), args);

    private static async Task<JsonObject> GetConfigAsync(string admin)
    {
        using var client = new HttpClient { BaseAddress = new Uri(admin) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return JsonNode.Parse(await client.GetStringAsync("/admin/config"))!.AsObject();
    }

    private static async Task<long> RevisionAsync(string admin)
    {
        using var client = new HttpClient { BaseAddress = new Uri(admin) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await client.GetAsync("/admin/config");
        return long.Parse(response.Headers.GetValues("Gatehouse-Revision").Single(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
