using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>The demo as a user runs it: the real executable, the shop's services, the contract routes.</summary>
public sealed partial class DemoCommandTests
{
    [Fact]
    public async Task Demo_ContractRoutes_ReachTheMatchingServices()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var url = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        var keys = await DemoKeysAsync(demo);
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-Api-Key", keys["internal"]);

        var user = await client.GetFromJsonAsync<JsonElement>("/users/1");
        Assert.Equal(1, user.GetProperty("id").GetInt32());

        var product = await client.GetFromJsonAsync<JsonElement>("/products/3");
        Assert.Equal(3, product.GetProperty("id").GetInt32());

        var products = await client.GetFromJsonAsync<JsonElement>("/products");
        Assert.True(products.GetArrayLength() >= 20);

        var orders = await client.GetFromJsonAsync<JsonElement>("/orders?userId=1");
        Assert.True(orders.GetArrayLength() >= 1);
        Assert.All(orders.EnumerateArray(), o => Assert.Equal(1, o.GetProperty("userId").GetInt32()));

        var firstOrderId = orders[0].GetProperty("id").GetInt32();
        var order = await client.GetFromJsonAsync<JsonElement>($"/orders/{firstOrderId}");
        Assert.Equal(firstOrderId, order.GetProperty("id").GetInt32());

        var created = await client.PostAsJsonAsync("/orders", new { userId = 2, items = new[] { new { productId = 3, quantity = 2 } } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var createdOrder = await created.Content.ReadFromJsonAsync<JsonElement>();
        var fetched = await client.GetFromJsonAsync<JsonElement>($"/orders/{createdOrder.GetProperty("id").GetInt32()}");
        Assert.Equal(2, fetched.GetProperty("userId").GetInt32());

        var missing = await client.GetAsync("/nowhere");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Demo_PlansAndKeys_DecideWhoMayCallWhat()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var url = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        var keys = await DemoKeysAsync(demo);
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };

        async Task<HttpStatusCode> Send(HttpMethod method, string path, string? plan)
        {
            using var request = new HttpRequestMessage(method, path);
            if (plan is not null)
            {
                request.Headers.Add("X-Api-Key", keys[plan]);
            }

            if (method == HttpMethod.Post)
            {
                request.Content = JsonContent.Create(new { userId = 1, items = new[] { new { productId = 3, quantity = 1 } } });
            }

            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Send(HttpMethod.Get, "/products/3", null));
        Assert.Equal(HttpStatusCode.OK, await Send(HttpMethod.Get, "/openapi/users", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await Send(HttpMethod.Get, "/users/1", null));
        Assert.Equal(HttpStatusCode.OK, await Send(HttpMethod.Get, "/users/1", "retail"));
        Assert.Equal(HttpStatusCode.Forbidden, await Send(HttpMethod.Post, "/orders", "retail"));
        Assert.Equal(HttpStatusCode.Forbidden, await Send(HttpMethod.Get, "/users/1", "wholesale"));
        Assert.Equal(HttpStatusCode.Created, await Send(HttpMethod.Post, "/orders", "wholesale"));
        Assert.Equal(HttpStatusCode.Created, await Send(HttpMethod.Post, "/orders", "internal"));

        // The keys were shown once on their own lines, and are written nowhere else: not in any other output line,
        // not in the config the demo serves, and no file under the example's directory holds them.
        var serviceToken = Regex.Match(demo.StandardOutput, @"(?m)^demo service token: (\S+)$").Groups[1].Value;
        Assert.StartsWith("ghs_", serviceToken, StringComparison.Ordinal);
        var otherOutput = string.Join('\n', (demo.StandardOutput + "\n" + demo.StandardError).Split('\n')
            .Where(l => !l.StartsWith("demo key ", StringComparison.Ordinal) && !l.StartsWith("demo service token: ", StringComparison.Ordinal)));
        var files = Directory.EnumerateFiles(Path.Combine(GatehouseProcess.RepositoryRoot, "examples", "shop"), "*", SearchOption.TopDirectoryOnly).Select(File.ReadAllText).ToList();
        foreach (var key in keys.Values.Append(serviceToken))
        {
            Assert.DoesNotContain(key, otherOutput, StringComparison.Ordinal);
            Assert.All(files, text => Assert.DoesNotContain(key, text, StringComparison.Ordinal));
        }
    }

    /// <summary>The <c>demo key PLAN: KEY</c> lines, by plan.</summary>
    [Fact]
    public async Task Demo_RunsOnAnEmbeddedStore_PrintsTheAdminTokenOnce_AndExportThenApplyChangesIt()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var url = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        var keys = await DemoKeysAsync(demo);
        var admin = AdminLine().Match(demo.StandardOutput).Groups[1].Value;
        var tokens = TokenLine().Matches(demo.StandardOutput);
        var token = Assert.Single(tokens).Groups[1].Value;
        Assert.StartsWith("gha_", token, StringComparison.Ordinal);

        using var adminClient = new HttpClient { BaseAddress = new Uri(admin), Timeout = TimeSpan.FromSeconds(30) };
        using (var anonymous = await adminClient.GetAsync("/admin/revisions"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        adminClient.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var revisions = await adminClient.GetFromJsonAsync<JsonElement>("/admin/revisions");
        Assert.Equal(1, revisions.GetProperty("items").GetArrayLength());

        // The tour: export, edit, apply; the demo keys survive the round trip because the store holds their hashes.
        var folder = Directory.CreateTempSubdirectory("gatehouse-demo-tour-");
        try
        {
            var file = Path.Combine(folder.FullName, "shop.yaml");
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = token };
            var export = await GatehouseProcess.RunAsync(environment, "export", "--admin-url", admin, "-o", file);
            Assert.True(export.ExitCode == 0, export.Stderr);
            var yaml = await File.ReadAllTextAsync(file);
            Assert.DoesNotContain(keys["retail"], yaml, StringComparison.Ordinal);
            await File.WriteAllTextAsync(file, yaml.Replace("routes:\n", "routes:\n  catalogue: { methods: [GET], path: \"/catalogue/{id}\", service: products, upstreamPath: \"/products/{id}\" }\n", StringComparison.Ordinal));
            var apply = await GatehouseProcess.RunAsync(environment, "apply", "--admin-url", admin, "-f", file);
            Assert.True(apply.ExitCode == 0, apply.Stdout + apply.Stderr);
            Assert.Contains("1 created, 0 updated, 0 deleted", apply.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/catalogue/3");
        request.Headers.Add("X-Api-Key", keys["internal"]);
        using var served = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        using var retail = new HttpRequestMessage(HttpMethod.Get, "/users/1");
        retail.Headers.Add("X-Api-Key", keys["retail"]);
        using var stillWorks = await client.SendAsync(retail);
        Assert.Equal(HttpStatusCode.OK, stillWorks.StatusCode);
    }

    private static async Task<Dictionary<string, string>> DemoKeysAsync(GatehouseProcess demo)
    {
        await demo.WaitForOutputAsync(KeyLine("internal"), TimeSpan.FromSeconds(30));
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var plan in new[] { "retail", "wholesale", "internal" })
        {
            var match = KeyLine(plan).Match(demo.StandardOutput);
            Assert.True(match.Success, $"the demo printed no key for plan {plan}");
            keys[plan] = match.Groups[1].Value;
            Assert.Matches("^ghk_[A-Za-z0-9_-]{32}$", keys[plan]);
        }

        return keys;
    }

    private static Regex KeyLine(string plan) => new($"^demo key {plan}: (\\S+)$", RegexOptions.Multiline);

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"admin API (http://\S+)")]
    private static partial Regex AdminLine();

    [GeneratedRegex(@"^demo admin token: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TokenLine();
}
