using System.Xml.Linq;
using Gatehouse.Management.Analytics.Charts;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>The server-rendered charts: well-formed SVG whatever the labels, readable axes from an hour to 90 days.</summary>
[Trait("Issue", "19")]
public sealed class SvgChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly DateTimeOffset End = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1, 60)]
    [InlineData(24, 24 * 60)]
    [InlineData(24 * 7, 24 * 7)]
    [InlineData(24 * 90, 90)]
    [InlineData(24 * 90, 24 * 90)]
    public void TimeCharts_OverAnyRange_AreWellFormedWithAtMostEightTimeLabels(int hours, int buckets)
    {
        var from = End.AddHours(-hours);
        var step = TimeSpan.FromHours(hours) / buckets;
        var points = Enumerable.Range(0, buckets).Select(i => (from + (step * i), (double)(i % 17))).ToList();
        var series = new[] { new ChartSeries("2xx", "#2e7d32", points), new ChartSeries("5xx", "#c62828", points) };

        foreach (var svg in new[] { SvgChart.StackedColumns("c", "Requests", from, End, step, series, "req"), SvgChart.Lines("l", "Latency", from, End, series, "ms") })
        {
            var root = XElement.Parse(svg);
            Assert.Equal(Svg + "svg", root.Name);
            Assert.Equal("img", (string?)root.Attribute("role"));
            var timeLabels = root.Elements(Svg + "text").Where(t => (string?)t.Attribute("text-anchor") == "middle").ToList();
            Assert.InRange(timeLabels.Count, 2, 9);
            Assert.All(timeLabels, t => Assert.Matches(@"^(\d\d:\d\d|\d\d-\d\d \d\d:\d\d|\d\d-\d\d|\d{4}-\d\d-\d\d)$", t.Value));
        }
    }

    [Fact]
    public void HostileLabels_AreTextNeverMarkup()
    {
        const string hostile = "\"><script>alert(1)</script><svg onload=alert(2)>";
        var svg = SvgChart.Bars("b", "Top <applications> & \"friends\"", [new ChartBar(hostile, 10), new ChartBar("'; DROP TABLE usage_minute; --", 5)], "requests");
        var lines = SvgChart.Lines("l", hostile, End.AddHours(-1), End, [new ChartSeries(hostile, "#000", [(End.AddMinutes(-30), 1.0)])], "ms");

        foreach (var text in new[] { svg, lines })
        {
            var root = XElement.Parse(text);
            Assert.DoesNotContain(root.Descendants(), e => e.Name.LocalName is "script" or "foreignObject");
            Assert.DoesNotContain(root.DescendantsAndSelf().Attributes(), a => a.Name.LocalName.StartsWith("on", StringComparison.Ordinal));
            Assert.DoesNotContain("<script>", text, StringComparison.Ordinal);
        }

        Assert.Contains(XElement.Parse(svg).Descendants(Svg + "title"), t => t.Value.StartsWith(hostile[..20], StringComparison.Ordinal));
    }

    [Fact]
    public void NoData_StillDrawsAnEmptyChart()
    {
        var root = XElement.Parse(SvgChart.Bars("b", "Top plans", [], "requests"));

        Assert.Contains(root.Descendants(Svg + "text"), t => t.Value == "No requests in this range.");
        Assert.NotNull(XElement.Parse(SvgChart.Lines("l", "Latency", End.AddHours(-1), End, [], "ms")));
    }

    [Fact]
    public void APointWithoutNeighbours_IsADot_AndTheLastBucketsColumn_StopsAtThePlotsEdge()
    {
        // A day of hours whose only data is the current hour, which began 20 minutes before the range's end.
        var from = End.AddDays(-1);
        var last = End.AddMinutes(-20);
        var lines = XElement.Parse(SvgChart.Lines("l", "Latency", from, End, [new ChartSeries("p50", "#2e7d32", [(last, 12.0)])], "ms"));
        var dot = Assert.Single(lines.Descendants(Svg + "circle"));
        Assert.Equal("#2e7d32", (string?)dot.Attribute("fill"));
        Assert.DoesNotContain(lines.Descendants(Svg + "path"), p => ((string?)p.Attribute("d") ?? "").Contains('L', StringComparison.Ordinal));

        // Two points in a row are a line, and no dot.
        var joined = XElement.Parse(SvgChart.Lines("l", "Latency", from, End, [new ChartSeries("p50", "#2e7d32", [(last.AddHours(-1), 10.0), (last, 12.0)])], "ms"));
        Assert.Empty(joined.Descendants(Svg + "circle"));

        var columns = XElement.Parse(SvgChart.StackedColumns("c", "Requests", from, End, TimeSpan.FromHours(1), [new ChartSeries("2xx", "#2e7d32", [(last, 5.0)])], "req"));
        // The data column is the rect titled with its bucket (the legend's swatch has no title).
        var bar = Assert.Single(columns.Descendants(Svg + "rect"), r => r.Element(Svg + "title")?.Value.StartsWith("2xx 2026", StringComparison.Ordinal) == true);
        var right = double.Parse((string)bar.Attribute("x")!, System.Globalization.CultureInfo.InvariantCulture) + double.Parse((string)bar.Attribute("width")!, System.Globalization.CultureInfo.InvariantCulture);
        var axisEnd = columns.Descendants(Svg + "line").Max(l => double.Parse((string?)l.Attribute("x2") ?? "0", System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(right <= axisEnd + 0.01, $"the column ends at {right}, past the axis at {axisEnd}");
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0.3, 0.5)]
    [InlineData(7, 10)]
    [InlineData(101, 200)]
    [InlineData(4999, 5000)]
    public void NiceMax_IsOneTwoOrFiveTimesAPowerOfTen(double value, double expected) =>
        Assert.Equal(expected, SvgChart.NiceMax(value), 9);
}
