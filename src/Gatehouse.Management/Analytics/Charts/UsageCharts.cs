namespace Gatehouse.Management.Analytics.Charts;

/// <summary>Charts of one application's usage, shared by the portal's application page and the console's.</summary>
public static class UsageCharts
{
    /// <summary>Calls per UTC day as stacked columns by status class; <paramref name="days"/> in any order, at least one.</summary>
    public static string CallsPerDay(IReadOnlyList<(DateOnly Day, long Calls, long ClientErrors, long Errors)> days)
    {
        var ordered = days.OrderBy(d => d.Day).ToList();
        var from = Start(ordered[0].Day);
        var to = Start(ordered[^1].Day.AddDays(1));
        return SvgChart.StackedColumns("calls", "Calls per day", from, to, TimeSpan.FromDays(1),
        [
            new("2xx–3xx", "#2e7d32", [.. ordered.Select(d => (Start(d.Day), (double)(d.Calls - d.ClientErrors - d.Errors)))]),
            new("4xx", "#ef6c00", [.. ordered.Select(d => (Start(d.Day), (double)d.ClientErrors))]),
            new("5xx", "#c62828", [.. ordered.Select(d => (Start(d.Day), (double)d.Errors))]),
        ], "calls");
    }

    private static DateTimeOffset Start(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
}
