namespace Gatehouse.Management.Analytics.Charts;

/// <summary>A named series of values over time; <see cref="double.NaN"/> is "no value" (a gap in a line).</summary>
public sealed record ChartSeries(string Name, string Color, IReadOnlyList<(DateTimeOffset Time, double Value)> Points);

/// <summary>A named value of a bar chart.</summary>
public sealed record ChartBar(string Label, double Value);
