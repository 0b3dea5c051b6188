using System.Net;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Admin;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>/console/analytics, /admin/applications/NAME/usage and /metrics on the admin listener, over a real store.</summary>
[Trait("Issue", "19")]
public sealed partial class AnalyticsPageTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task Page_NamesPortalApplicationsByTheirTitles_AndOthersAsTheyAre()
    {
        await using var admin = await AdminHarness.StartAsync(now: Now);
        var application = new Gatehouse.Management.Consumers.PortalApplication("app-titledone", "acc-x", "Mobile <shop>", "", "gold", Gatehouse.Model.Config.ApplicationState.Live, [], Now);
        Assert.NotNull(await admin.Store.SaveApplicationAsync(application, 0, "test", "create"));
        var rows = new List<UsageRow>();
        foreach (var app in new[] { "app-titledone", "app-gone", "config-app", UsageKey.AllApplications })
        {
            rows.Add(UsageAnalyticsTests.Row(UsageGranularity.Minute, Now.AddMinutes(-10).ToUnixTimeSeconds(), 3, application: app) with
            {
                Key = new UsageKey(app, "gold", "items.get", 200),
            });
        }

        await ((IUsageStore)admin.Store).WriteAsync(rows);
        using var response = await admin.Client.GetAsync("/console/analytics");
        var top = XElement.Parse(SvgBlocks().Matches(await response.Content.ReadAsStringAsync()).Select(m => m.Value).Single(v => v.Contains("Top applications", StringComparison.Ordinal)));
        var labels = top.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();

        // The label is cut to what fits left of the bars; the bar's title holds all of it.
        Assert.Contains("Mobile <shop> (app-titledon…", labels);
        Assert.Contains(top.Descendants().Where(e => e.Name.LocalName == "title"), t => t.Value.StartsWith("Mobile <shop> (app-titledone): ", StringComparison.Ordinal));
        Assert.Contains("app-gone", labels);
        Assert.Contains("config-app", labels);
    }

    [Theory]
    [InlineData("")]
    [InlineData("?hours=24")]
    [InlineData("?hours=2160")]
    public async Task Page_ShowsEveryChartAsWellFormedSvg_WithHostileNamesEncoded(string query)
    {
        await using var admin = await AdminHarness.StartAsync(now: Now);
        var sink = (IUsageStore)admin.Store;
        const string hostile = "\"><script>alert(1)</script>";
        var rows = new List<UsageRow>();
        foreach (var granularity in new[] { UsageGranularity.Minute, UsageGranularity.Hour, UsageGranularity.Day })
        {
            foreach (var (app, status) in new[] { (hostile, 200), ("shop", 503), (UsageKey.AllApplications, 200), (UsageKey.AllApplications, 503) })
            {
                rows.Add(UsageAnalyticsTests.Row(granularity, Now.AddMinutes(-10).ToUnixTimeSeconds(), 7, application: app, operation: hostile) with
                {
                    Key = new UsageKey(app, "gold", hostile, status),
                });
            }
        }

        await sink.WriteAsync(rows);
        using var response = await admin.Client.GetAsync("/console/analytics" + query);
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        // The console's shell and headers: no script runs but the console's own files (none inline), and a hostile name
        // is text, never markup.
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp.Split(';').Single(d => d.Trim().StartsWith("script-src", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.DoesNotMatch("(?i)<script(?![^>]*\\ssrc=\"/)", html);
        Assert.Contains("href=\"/console/pending\"", html, StringComparison.Ordinal);
        var svgs = SvgBlocks().Matches(html).Select(m => XElement.Parse(m.Value)).ToList();
        Assert.Equal(6, svgs.Count);
        Assert.Contains("14 requests", html, StringComparison.Ordinal);
        Assert.Contains(svgs.SelectMany(s => s.Descendants()), e => e.Value.Contains("\"><script>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Page_WithoutTheAdminToken_IsRefused()
    {
        await using var admin = await AdminHarness.StartAsync(now: Now);
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = admin.Client.BaseAddress };

        using var page = await anonymous.GetAsync("/console/analytics");
        using var metrics = await anonymous.GetAsync("/metrics");
        using var analytics = await anonymous.GetAsync("/admin/analytics");

        // The page is the console's: without a console session or the token, to the console's sign-in, no chart.
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.EndsWith("/console/login", page.Headers.Location!.OriginalString, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, analytics.StatusCode);
    }

    [Fact]
    public async Task Metrics_WithNoGatewayInTheProcess_IsAProblemSayingWhy()
    {
        await using var admin = await AdminHarness.StartAsync(now: Now);

        using var response = await admin.Client.GetAsync("/metrics");
        var problem = await AdminHarness.ReadObjectAsync(response);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("urn:gatehouse:problem:metrics-off", (string)problem["type"]!);
    }

    [Fact]
    public async Task ApplicationUsage_GivesItsOwnCallsPerDay_AndNotOthers()
    {
        await using var admin = await AdminHarness.StartAsync(now: Now);
        await admin.PutOkAsync("/admin/services/s", """{"targets":["http://127.0.0.1:1"]}""");
        await admin.PutOkAsync("/admin/routes/r", """{"path":"/r","service":"s"}""");
        await admin.PutOkAsync("/admin/accounts/acme", "{}");
        await admin.PutOkAsync("/admin/plans/gold", """{"include":[{"route":"r"}]}""");
        await admin.PutOkAsync("/admin/applications/shop", """{"account":"acme","plan":"gold"}""");
        var sink = (IUsageStore)admin.Store;
        await sink.WriteAsync([
            UsageAnalyticsTests.Row(UsageGranularity.Day, Now.AddDays(-2).ToUnixTimeSeconds(), 40, application: "shop"),
            UsageAnalyticsTests.Row(UsageGranularity.Day, Now.ToUnixTimeSeconds(), 2, application: "shop"),
            UsageAnalyticsTests.Row(UsageGranularity.Day, Now.ToUnixTimeSeconds(), 999, application: "someone-else"),
        ]);

        var report = await AdminHarness.ReadObjectAsync(await admin.Client.GetAsync("/admin/applications/shop/usage?from=2026-02-27&to=2026-03-01"));

        Assert.Equal("shop", (string)report["application"]!);
        Assert.Equal(["2026-02-27", "2026-02-28", "2026-03-01"], report["days"]!.AsArray().Select(d => (string)d!["day"]!));
        Assert.Equal([40L, 0L, 2L], report["days"]!.AsArray().Select(d => (long)d!["calls"]!));

        using var missing = await admin.Client.GetAsync("/admin/applications/nobody/usage");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var bad = await admin.Client.GetAsync("/admin/applications/shop/usage?from=last-week");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheAnalyticsEndpoints()
    {
        await using var admin = await AdminHarness.StartAsync(now: Now);

        var document = await AdminHarness.ReadObjectAsync(await admin.Client.GetAsync("/admin/openapi.json"));

        var analytics = document["paths"]!["/admin/analytics"]!["get"]!;
        Assert.Equal(
            ["from", "to", "granularity", "groupBy", "application", "plan", "operation", "status", "statusClass", "node", "limit"],
            analytics["parameters"]!.AsArray().Select(p => (string)p!["name"]!));
        Assert.NotNull(document["paths"]!["/admin/applications/{name}/usage"]);
        Assert.NotNull(document["paths"]!["/metrics"]);
    }

    [GeneratedRegex("<svg.*?</svg>", RegexOptions.Singleline)]
    private static partial Regex SvgBlocks();
}
