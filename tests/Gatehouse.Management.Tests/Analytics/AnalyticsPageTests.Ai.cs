using System.Net;
using System.Xml.Linq;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Admin;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Tests.Analytics;

// Model usage on the console's analytics page (issue 22).
public sealed partial class AnalyticsPageTests
{
    [Fact]
    [Trait("Issue", "22")]
    public async Task Page_WithModelCalls_ShowsTokensByApplicationAndCostByModel_WithHostileNamesEncoded()
    {
        await using var admin = await AdminHarness.StartAsync(now: Now);
        const string hostile = "\"><script>alert(1)</script>";
        var bucket = Now.AddMinutes(-10).ToUnixTimeSeconds();
        await ((IUsageStore)admin.Store).WriteAiAsync([
            new AiUsageRow
            {
                Granularity = UsageGranularity.Minute, Bucket = UsageBuckets.Start(UsageGranularity.Minute, bucket), Node = "n",
                Key = new AiUsageKey(hostile, "gold", "fast", "openai", hostile), Calls = 3, PromptTokens = 1200, CompletionTokens = 34, CostNanos = 1_234_500_000,
            },
            new AiUsageRow
            {
                Granularity = UsageGranularity.Minute, Bucket = UsageBuckets.Start(UsageGranularity.Minute, bucket), Node = "n",
                Key = new AiUsageKey("shop", "gold", "fast", "openai", "gpt-4o"), Calls = 1, PromptTokens = 7, CompletionTokens = 5, CostNanos = 4_050,
            },
        ]);

        using var response = await admin.Client.GetAsync("/console/analytics");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        var svgs = SvgBlocks().Matches(html).Select(m => XElement.Parse(m.Value)).ToList();
        // The six request charts (empty here) and the model tokens by application.
        Assert.Equal(7, svgs.Count);
        var tokens = svgs[6];
        Assert.Contains(tokens.Descendants(), e => e.Value.Contains("1,234", StringComparison.Ordinal));
        Assert.Contains(tokens.Descendants(), e => e.Value.Contains("\"><script>", StringComparison.Ordinal));
        var table = XElement.Parse(html[html.IndexOf("<table>", StringComparison.Ordinal)..(html.IndexOf("</table>", StringComparison.Ordinal) + 8)]);
        var rows = table.Descendants("tr").Skip(1).Select(r => r.Elements("td").Select(d => d.Value).ToList()).ToList();
        Assert.Equal(["fast", "openai", hostile, "3", "1,200", "34", "0", "1.2345"], rows[0]);
        Assert.Equal(["fast", "openai", "gpt-4o", "1", "7", "5", "0", "0.00000405"], rows[1]);
    }

    [Fact]
    [Trait("Issue", "22")]
    public async Task Page_WithoutModelCalls_HasNoModelSection()
    {
        await using var admin = await AdminHarness.StartAsync(now: Now);

        using var response = await admin.Client.GetAsync("/console/analytics");
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("Model", html, StringComparison.Ordinal);
    }
}
