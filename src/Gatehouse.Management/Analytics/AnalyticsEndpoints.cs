using System.Globalization;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Analytics;

/// <summary>
/// <c>GET /admin/analytics</c>, <c>GET /admin/analytics/ai</c>, <c>GET /admin/applications/{name}/usage</c>, <c>GET /metrics</c> and the analytics page
/// <c>GET /console/analytics</c>, all behind the admin token (docs/observability.md).
/// </summary>
internal static class AnalyticsEndpoints
{
    public static void Map(WebApplication app, AdminApiOptions options, UsageAnalytics? analytics, ConsumerUsage? consumer)
    {
        app.MapGet("/admin/analytics", async context =>
        {
            if (analytics is null)
            {
                await NoUsage().WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var query = AnalyticsQuery.Parse(name => context.Request.Query[name].ToString(), options.Time.GetUtcNow(), out var error);
            if (query is null)
            {
                await BadQuery(error!).WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var result = await analytics.QueryAsync(query, context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, AnalyticsJson.Write(result)).ConfigureAwait(false);
        });

        // Tokens and cost of model calls (issue 22), with the same range, granularity, grouping and limit as requests.
        app.MapGet("/admin/analytics/ai", async context =>
        {
            if (analytics is null)
            {
                await NoUsage().WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var query = AnalyticsQuery.Parse(name => context.Request.Query[name].ToString(), options.Time.GetUtcNow(), AnalyticsQuery.AiDimensions, out var error);
            if (query is null)
            {
                await BadQuery(error!).WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var result = await analytics.QueryAiAsync(query, context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, AnalyticsJson.Write(result)).ConfigureAwait(false);
        });

        app.MapGet("/admin/applications/{name}/usage", async (HttpContext context, string name) =>
        {
            if (consumer is null)
            {
                await NoUsage().WriteAsync(context).ConfigureAwait(false);
                return;
            }

            // An application of the config, or one made in the developer portal (by its id, app-…).
            if (await options.Store.GetAsync(ResourceKinds.Application, name, cancellationToken: context.RequestAborted).ConfigureAwait(false) is null
                && await options.Store.GetApplicationAsync(name, context.RequestAborted).ConfigureAwait(false) is null)
            {
                await AdminProblem.NotFound($"Application '{name}'").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var today = DateOnly.FromDateTime(options.Time.GetUtcNow().UtcDateTime);
            if (!TryDay(context.Request.Query["to"].ToString(), today, out var to) || !TryDay(context.Request.Query["from"].ToString(), to.AddDays(-29), out var from))
            {
                await BadQuery("'from' and 'to' are days, written 2026-01-31.").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            if (to < from || to.DayNumber - from.DayNumber >= ConsumerUsage.MaxDays)
            {
                await BadQuery($"the report covers 1 to {ConsumerUsage.MaxDays} days; 'from' must not be after 'to'.").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            var report = await consumer.GetAsync(name, from, to, context.RequestAborted).ConfigureAwait(false);
            await AdminRequests.WriteJsonAsync(context, AnalyticsJson.Write(report)).ConfigureAwait(false);
        });

        app.MapGet("/metrics", context => options.Metrics is { } metrics
            ? metrics(context)
            : new AdminProblem(StatusCodes.Status404NotFound, "metrics-off", "Metrics are off",
                "This node serves no metrics: gateway.observability.metrics.enabled is false, or no gateway runs in this process.").WriteAsync(context));

        // A console page: the admin middleware lets /console through without the token, so this one checks for itself:
        // a user signed in to the console, or the admin token; anyone else is sent to the console's sign-in.
        var expected = Convert.FromHexString(options.TokenSha256);
        app.MapGet("/console/analytics", context =>
        {
            if (context.User.Identity?.IsAuthenticated != true && !AdminToken.Matches(context.Request.Headers.Authorization.ToString(), expected))
            {
                context.Response.Redirect("/console/login");
                return Task.CompletedTask;
            }

            return analytics is null ? NoUsage().WriteAsync(context) : AnalyticsPage.WriteAsync(context, analytics, options.Time, options.Store);
        });
    }

    internal static bool TryDay(string text, DateOnly fallback, out DateOnly day)
    {
        if (text.Length == 0)
        {
            day = fallback;
            return true;
        }

        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }

    private static AdminProblem BadQuery(string detail) =>
        new(StatusCodes.Status400BadRequest, "analytics-bad-query", "Bad analytics query", detail);

    private static AdminProblem NoUsage() =>
        new(StatusCodes.Status404NotFound, "analytics-unavailable", "No usage store", "This store keeps no usage rollups.");
}
