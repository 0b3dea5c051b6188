using System.Net;
using System.Text;
using Gatehouse.Management.Analytics.Charts;
using Gatehouse.Model.Usage;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Analytics;

/// <summary>
/// <c>GET /console/analytics</c>: a console page of server-rendered SVG charts over a chosen range (an hour to 90 days):
/// requests by status class, latency percentiles, top applications, operations and plans, errors by status, and (where
/// there were model calls) model tokens by application and calls, tokens and cost by model. It works without
/// JavaScript and has none of its own; the console's shell frames it.
/// </summary>
internal static class AnalyticsPage
{
    private static readonly (string Label, TimeSpan Span)[] Ranges =
    [
        ("1 hour", TimeSpan.FromHours(1)), ("24 hours", TimeSpan.FromDays(1)), ("7 days", TimeSpan.FromDays(7)),
        ("30 days", TimeSpan.FromDays(30)), ("90 days", TimeSpan.FromDays(90)),
    ];

    private static readonly Dictionary<string, string> ClassColors = new(StringComparer.Ordinal)
    {
        ["1xx"] = "#8c8c8c", ["2xx"] = "#2e7d32", ["3xx"] = "#1565c0", ["4xx"] = "#ef6c00", ["5xx"] = "#c62828",
    };

    public static async Task WriteAsync(HttpContext context, UsageAnalytics analytics, TimeProvider time, Stores.IConsumerStore? consumers = null)
    {
        var now = time.GetUtcNow();
        var parameters = context.Request.Query;
        var range = Ranges.FirstOrDefault(r => r.Span.TotalHours.ToString(System.Globalization.CultureInfo.InvariantCulture) == parameters["hours"].ToString());
        var span = range.Label is null ? TimeSpan.FromHours(1) : range.Span;
        var query = AnalyticsQuery.Parse(name => name switch
        {
            "from" => (now - span).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "to" => now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => null,
        }, now, out _)!;
        var ct = context.RequestAborted;

        var byClass = await analytics.QueryAsync(query with { GroupBy = ["statusClass"] }, ct).ConfigureAwait(false);
        var overall = await analytics.QueryAsync(query, ct).ConfigureAwait(false);
        var applications = await analytics.QueryAsync(query with { GroupBy = ["application"], Limit = 10 }, ct).ConfigureAwait(false);
        var operations = await analytics.QueryAsync(query with { GroupBy = ["operation"], Limit = 10 }, ct).ConfigureAwait(false);
        var plans = await analytics.QueryAsync(query with { GroupBy = ["plan"], Limit = 10 }, ct).ConfigureAwait(false);
        var errors = await analytics.QueryAsync(query with
        {
            GroupBy = ["status"],
            Filters = new Dictionary<string, IReadOnlyList<string>> { ["statusClass"] = ["4xx", "5xx"] },
            Limit = 10,
        }, ct).ConfigureAwait(false);

        var modelApplications = await analytics.QueryAiAsync(query with { GroupBy = ["application"], Limit = 10 }, ct).ConfigureAwait(false);
        var models = await analytics.QueryAiAsync(query with { GroupBy = ["alias", "provider", "model"], Limit = 20 }, ct).ConfigureAwait(false);

        var bucket = TimeSpan.FromSeconds(UsageBuckets.Seconds(query.Granularity));
        var classSeries = byClass.Series.OrderBy(s => s.Group["statusClass"], StringComparer.Ordinal)
            .Select(s => new ChartSeries(s.Group["statusClass"], ClassColors.GetValueOrDefault(s.Group["statusClass"], "#555"), [.. s.Points.Select(p => (p.Time, (double)p.Count))]))
            .ToList();
        var points = overall.Series.FirstOrDefault()?.Points ?? [];
        var latency = new List<ChartSeries>
        {
            new("p50", "#2e7d32", [.. points.Select(p => (p.Time, p.P50Ms))]),
            new("p95", "#ef6c00", [.. points.Select(p => (p.Time, p.P95Ms))]),
            new("p99", "#c62828", [.. points.Select(p => (p.Time, p.P99Ms))]),
        };

        // The body of the page; the console's shell (its navigation, styles and security headers) frames it.
        var html = new StringBuilder();
        html.Append("<nav class=\"ranges\" aria-label=\"Range\">");
        foreach (var (label, rangeSpan) in Ranges)
        {
            var current = rangeSpan == span;
            html.Append("<a href=\"?hours=").Append(rangeSpan.TotalHours.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('"')
                .Append(current ? " aria-current=\"page\"" : "").Append('>').Append(Encode(label)).Append("</a>");
        }

        html.Append("</nav>");
        var total = overall.Series.FirstOrDefault()?.Total;
        html.Append("<p class=\"total\">").Append(Encode($"{query.From:yyyy-MM-dd HH:mm} to {query.To:yyyy-MM-dd HH:mm} UTC, by the {query.Granularity.ToString().ToLowerInvariant()}: "))
            .Append(Encode(total is null ? "no requests." : $"{total.Count:#,0} requests, {total.ErrorRate:P2} errors (5xx), p95 {total.P95Ms:0.##} ms."))
            .Append("</p>");
        Section(html, SvgChart.StackedColumns("requests", "Requests by status class", query.From, query.To, bucket, classSeries, "req"));
        Section(html, SvgChart.Lines("latency", "Latency percentiles (ms)", query.From, query.To, latency, "ms"));
        var shown = applications.Series.Where(s => !s.Other).Select(s => s.Group["application"])
            .Concat(modelApplications.Series.Where(s => !s.Other).Select(s => s.Group["application"]));
        var titles = await PortalTitlesAsync(consumers, shown, ct).ConfigureAwait(false);
        Section(html, SvgChart.Bars("applications", "Top applications", Bars(applications, "application", titles), "requests"));
        Section(html, SvgChart.Bars("operations", "Top operations", Bars(operations, "operation"), "requests"));
        Section(html, SvgChart.Bars("plans", "Top plans", Bars(plans, "plan"), "requests"));
        Section(html, SvgChart.Bars("errors", "Errors by status", Bars(errors, "status"), "requests", "#c62828"));
        if (models.Series.Count > 0)
        {
            ModelUsage(html, modelApplications, models, titles);
        }

        context.Response.Headers.CacheControl = "no-store";
        await Web.WebRender.PageAsync<Console.Pages.ConsolePage>(context, new { Page = Console.ConsoleEndpoints.Page(context, "Analytics"), Markup = html.ToString() }).ConfigureAwait(false);
    }

    // Model calls (issue 22), shown only where there were some: tokens by application, and calls, tokens and cost by model.
    private static void ModelUsage(StringBuilder html, AiAnalyticsResult byApplication, AiAnalyticsResult byModel, IReadOnlyDictionary<string, string> titles)
    {
        Section(html, SvgChart.Bars("model-tokens", "Model tokens by application",
            [.. byApplication.Series.Select(s => new ChartBar(s.Other ? "(others)" : Label(s.Group["application"], titles), s.Total.TotalTokens))], "tokens", "#6a1b9a"));
        html.Append("<section><h2>Model usage by model</h2><table><caption>Calls, tokens and cost (at the configured prices) per alias and the provider model that answered</caption>")
            .Append("<thead><tr><th scope=\"col\">Alias</th><th scope=\"col\">Provider</th><th scope=\"col\">Model</th><th scope=\"col\">Calls</th>")
            .Append("<th scope=\"col\">Prompt tokens</th><th scope=\"col\">Completion tokens</th><th scope=\"col\">Estimated calls</th><th scope=\"col\">Cost</th></tr></thead><tbody>");
        foreach (var s in byModel.Series)
        {
            var t = s.Total;
            html.Append("<tr><td>").Append(Encode(s.Other ? "(others)" : s.Group["alias"])).Append("</td><td>").Append(Encode(s.Other ? "" : s.Group["provider"]))
                .Append("</td><td>").Append(Encode(s.Other ? "" : s.Group["model"])).Append("</td><td class=\"n\">").Append(Encode(t.Calls.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture)))
                .Append("</td><td class=\"n\">").Append(Encode(t.PromptTokens.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture)))
                .Append("</td><td class=\"n\">").Append(Encode(t.CompletionTokens.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture)))
                .Append("</td><td class=\"n\">").Append(Encode(t.EstimatedCalls.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture)))
                .Append("</td><td class=\"n\">").Append(Encode(t.Cost.ToString("#,0.00#######", System.Globalization.CultureInfo.InvariantCulture))).Append("</td></tr>");
        }

        html.Append("</tbody></table></section>");
    }

    private static List<ChartBar> Bars(AnalyticsResult result, string dimension, IReadOnlyDictionary<string, string>? labels = null) =>
        [.. result.Series.Select(s => new ChartBar(s.Other ? "(others)" : Label(s.Group[dimension], labels), s.Total.Count))];

    private static string Label(string value, IReadOnlyDictionary<string, string>? labels) =>
        labels is not null && labels.TryGetValue(value, out var label) ? label : value;

    // Applications made in the portal are named by id (app-…) in the rollups; a chart reads better with their titles.
    private static async Task<Dictionary<string, string>> PortalTitlesAsync(Stores.IConsumerStore? consumers, IEnumerable<string> applications, CancellationToken cancellationToken)
    {
        var titles = new Dictionary<string, string>(StringComparer.Ordinal);
        if (consumers is null)
        {
            return titles;
        }

        foreach (var id in applications.Where(id => id.StartsWith("app-", StringComparison.Ordinal)).Distinct(StringComparer.Ordinal))
        {
            if (await consumers.GetApplicationAsync(id, cancellationToken).ConfigureAwait(false) is { } application)
            {
                titles[id] = $"{application.Title} ({id})";
            }
        }

        return titles;
    }

    private static void Section(StringBuilder html, string svg) => html.Append("<section>").Append(svg).Append("</section>");

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
