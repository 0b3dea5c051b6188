using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Model.Operations;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>Issue #18's contract, as the demo runs it: the portal's lines, the plans' documents, the console's login.</summary>
[Trait("Issue", "18")]
public sealed partial class DemoPortalTests
{
    [Fact]
    public async Task Demo_PrintsThePortalAndALogin_RetailDocumentIsReadOnly_InternalIs404_ConsoleAsksForLogin()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var portal = await demo.WaitForOutputAsync(PortalLine(), TimeSpan.FromSeconds(90));
        await demo.WaitForOutputAsync(LoginLine(), TimeSpan.FromSeconds(30));
        var login = LoginLine().Match(demo.StandardOutput);
        Assert.Contains("@", login.Groups[1].Value, StringComparison.Ordinal);
        Assert.True(login.Groups[2].Value.Length >= 12);
        var admin = AdminLine().Match(demo.StandardOutput).Groups[1].Value;

        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var retail = await client.GetStringAsync($"{portal}/plans/retail/openapi.json");
        var document = OpenApiDocumentReader.Read(retail, out var error);
        Assert.Null(error);
        Assert.Contains(document!.Operations, o => o.OperationId == "users.getUser");
        Assert.All(document.Operations, o => Assert.Contains(o.Method, (string[])["GET", "HEAD"]));
        Assert.DoesNotContain(document.Operations, o => o.OperationId == "orders.createOrder");

        // The plan's page says what its document does not: the models it may call, with what base URL, and the MCP server.
        var gateway = GatewayLine().Match(demo.StandardOutput).Groups[1].Value;
        var page = await client.GetStringAsync($"{portal}/plans/retail");
        Assert.Contains($"<code>{gateway}/v1</code>", page, StringComparison.Ordinal);
        Assert.Matches("<td>demo</td>", page);
        Assert.Contains($"<code>{gateway}/mcp</code>", page, StringComparison.Ordinal);
        // Wholesale's page has its limit of one operation.
        Assert.Contains("<td>orders.createOrder</td><td>10 per second</td>", await client.GetStringAsync($"{portal}/plans/wholesale"), StringComparison.Ordinal);
        // The catalogue says which plans may call models: retail does, wholesale does not.
        var catalogue = await client.GetStringAsync($"{portal}/");
        Assert.Matches(new Regex(@">Retail</a>(?:(?!</tr>).)*operations; models: demo</td>", RegexOptions.Singleline), catalogue);
        Assert.DoesNotMatch(new Regex(@">Wholesale</a>(?:(?!</tr>).)*models:", RegexOptions.Singleline), catalogue);

        using var hidden = await client.GetAsync($"{portal}/plans/internal/openapi.json");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        using var console = await client.GetAsync($"{admin}/console");
        Assert.Equal(HttpStatusCode.Redirect, console.StatusCode);
        Assert.EndsWith("/console/login?returnUrl=%2Fconsole", console.Headers.Location!.OriginalString, StringComparison.Ordinal);

        // The printed password signs the demo consumer in (and appears nowhere else in the output).
        Assert.Single(Regex.Matches(demo.StandardOutput + demo.StandardError, Regex.Escape(login.Groups[2].Value)));
    }

    [Fact]
    public async Task Demo_AConsumersApplicationPage_ShowsItsCallsPerDayFromAnalytics_AndWhatIsLeftOfItsLimits()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var portal = await demo.WaitForOutputAsync(PortalLine(), TimeSpan.FromSeconds(90));
        await demo.WaitForOutputAsync(LoginLine(), TimeSpan.FromSeconds(30));
        var login = LoginLine().Match(demo.StandardOutput);
        var gateway = GatewayLine().Match(demo.StandardOutput).Groups[1].Value;

        using var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, UseProxy = false })
        {
            BaseAddress = new Uri(portal),
            Timeout = TimeSpan.FromSeconds(30),
        };
        // The sign-in's password goes through the portal's password bulkhead: on a starved machine it may answer 503 with
        // Retry-After, which is posted again, a few times at most and never waiting more than 3 s (nothing was changed).
        async Task<HttpResponseMessage> SubmitAsync(string page, params (string, string)[] fields)
        {
            for (var attempt = 1; ; attempt++)
            {
                var token = Regex.Match(await browser.GetStringAsync(page), "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
                var response = await browser.PostAsync(page, new FormUrlEncodedContent([.. fields.Select(f => KeyValuePair.Create(f.Item1, f.Item2)), new("__RequestVerificationToken", token)]));
                if (attempt == 4 || response.StatusCode != HttpStatusCode.ServiceUnavailable || response.Headers.RetryAfter?.Delta is not { } wait)
                {
                    return response;
                }

                response.Dispose();
                await Task.Delay(wait < TimeSpan.FromSeconds(3) ? wait : TimeSpan.FromSeconds(3));
            }
        }

        using (var signedIn = await SubmitAsync("/login", ("email", login.Groups[1].Value), ("password", login.Groups[2].Value)))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        }

        string id, key;
        using (var created = await SubmitAsync("/apps/new", ("title", "Usage check"), ("description", ""), ("plan", "retail")))
        {
            var html = await created.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            id = Regex.Match(html, "href=\"/apps/(app-[a-z2-7]+)\"").Groups[1].Value;
            key = Regex.Match(html, "data-new-key=\"(ghk_[A-Za-z0-9_-]+)\"").Groups[1].Value;
        }

        using var client = new HttpClient { BaseAddress = new Uri(gateway) };
        var callsMinute = MinuteNow();
        for (var i = 0; i < 7; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/users/1");
            request.Headers.Add("X-Api-Key", key);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The demo flushes usage every 5 s; the page reads today's row from the store's analytics.
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var page = "";
        for (var attempt = 0; attempt < 40 && !Regex.IsMatch(page, $"<td>{today}</td><td class=\"n\">7</td>"); attempt++)
        {
            await Task.Delay(500);
            page = await browser.GetStringAsync($"/apps/{id}");
        }

        Assert.Matches($"<td>{today}</td><td class=\"n\">7</td><td class=\"n\">0</td><td class=\"n\">0</td>", page);
        Assert.Contains("<svg", page, StringComparison.Ordinal);
        Assert.Contains(">2xx–3xx<", page, StringComparison.Ordinal);
        // The retail plan's 1,000 a day and 60 a minute, with this node's count of the seven calls. The minute's
        // window is a fixed one: when the calls or the page crossed into another minute, it counts fewer of them.
        Assert.Matches("<td>1,000 per day</td><td>every call</td><td>7</td><td>993</td>", page);
        if (callsMinute == MinuteNow())
        {
            Assert.Matches("<td>60 per minute</td><td>every call</td><td>7</td><td>53</td>", page);
        }
        else
        {
            Assert.Matches("<td>60 per minute</td><td>every call</td><td>[0-7]</td><td>(5[3-9]|60)</td>", page);
        }

        // And its model tokens: none used yet.
        Assert.Contains("<td>100,000 tokens per day, model demo</td><td>model calls</td><td>0</td><td>100,000</td>", page, StringComparison.Ordinal);

        // The admin API's report of the same portal-made application: its days and its limits.
        var admin = AdminLine().Match(demo.StandardOutput).Groups[1].Value;
        var token = Regex.Match(demo.StandardOutput, @"^demo admin token: (\S+)$", RegexOptions.Multiline).Groups[1].Value;
        using var adminClient = new HttpClient { BaseAddress = new Uri(admin) };
        adminClient.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var report = System.Text.Json.Nodes.JsonNode.Parse(await adminClient.GetStringAsync($"/admin/applications/{id}/usage?from={today}&to={today}"))!;
        Assert.Equal(7, (long)report["days"]![0]!["calls"]!);
        var day = Assert.Single(report["limits"]!.AsArray(), l => (string)l!["period"]! == "day" && (string)l["unit"]! == "requests")!;
        Assert.Equal((1000, 7L), ((int)day["limit"]!, (long)day["used"]!));
        var tokens = Assert.Single(report["limits"]!.AsArray(), l => (string)l!["unit"]! == "tokens")!;
        Assert.Equal((100_000L, 0L, "demo"), ((long)tokens["limit"]!, (long)tokens["used"]!, (string)tokens["model"]!));
    }

    /// <summary>The minute now, to the minute: the calls and the pages read in one minute count the same window.</summary>
    private static long MinuteNow() => DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 60;

    [Fact]
    public async Task RunStore_PortalPortInUse_OnePlainLine_Exit2()
    {
        using var busy = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;
        using var folder = new TempFolder();
        var (code, stdout, stderr) = await GatehouseProcess.RunAsync(
            "run", "--store", "sqlite:" + Path.Combine(folder.Path, "gatehouse.db"), "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", $"http://127.0.0.1:{port}");
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--portal-url", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^demo portal: (http://\S+)$", RegexOptions.Multiline)]
    private static partial Regex PortalLine();

    [GeneratedRegex(@"^demo portal login: (\S+) (\S+)$", RegexOptions.Multiline)]
    private static partial Regex LoginLine();

    [GeneratedRegex(@"admin API (http://\S+)")]
    private static partial Regex AdminLine();

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();
}
