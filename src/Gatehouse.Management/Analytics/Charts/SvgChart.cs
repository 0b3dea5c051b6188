using System.Globalization;
using System.Text;
using System.Xml;

namespace Gatehouse.Management.Analytics.Charts;

/// <summary>
/// Server-rendered SVG charts with no script and no library: time series as lines or stacked columns, and horizontal bars.
/// Every text (titles, series names, labels that may be application or operation ids) goes through <see cref="XmlWriter"/>,
/// which encodes it, so no label can add markup. Time axes pick their tick step and label format from the range, so the same
/// chart reads well from an hour of minutes to 90 days.
/// </summary>
/// <remarks>
/// Written here rather than vendoring uPlot or Chart.js: the console must work without JavaScript (STYLE.md), and a chart
/// that is drawn on the server is also what the portal can embed as it is.
/// </remarks>
public static class SvgChart
{
    private const int Width = 720;
    private const int Height = 260;
    private const int Left = 64;
    private const int Right = 16;
    private const int Top = 36;
    private const int Bottom = 44;

    private static readonly (TimeSpan Step, string Format)[] TimeSteps =
    [
        (TimeSpan.FromMinutes(1), "HH:mm"), (TimeSpan.FromMinutes(5), "HH:mm"), (TimeSpan.FromMinutes(10), "HH:mm"),
        (TimeSpan.FromMinutes(15), "HH:mm"), (TimeSpan.FromMinutes(30), "HH:mm"), (TimeSpan.FromHours(1), "HH:mm"),
        (TimeSpan.FromHours(3), "MM-dd HH:mm"), (TimeSpan.FromHours(6), "MM-dd HH:mm"), (TimeSpan.FromHours(12), "MM-dd HH:mm"),
        (TimeSpan.FromDays(1), "MM-dd"), (TimeSpan.FromDays(2), "MM-dd"), (TimeSpan.FromDays(7), "MM-dd"),
        (TimeSpan.FromDays(14), "MM-dd"), (TimeSpan.FromDays(30), "yyyy-MM-dd"),
    ];

    /// <summary>Lines over time (latency percentiles), one per series, with a legend.</summary>
    public static string Lines(string id, string title, DateTimeOffset from, DateTimeOffset to, IReadOnlyList<ChartSeries> series, string unit) =>
        Render(id, title, (w, plot) =>
        {
            var max = NiceMax(series.SelectMany(s => s.Points).Select(p => p.Value).Where(double.IsFinite).DefaultIfEmpty(0).Max());
            Axes(w, from, to, max, unit);
            foreach (var s in series)
            {
                var path = new StringBuilder();
                var pen = 'M';
                // A point with no finite neighbour draws no line: it gets a dot, or a range of one bucket would look empty.
                var alone = new List<(double X, double Y)>();
                var run = new List<(double X, double Y)>();
                foreach (var (time, value) in s.Points.OrderBy(p => p.Time).Append((to.AddYears(1), double.NaN)))
                {
                    if (!double.IsFinite(value))
                    {
                        if (run.Count == 1)
                        {
                            alone.Add(run[0]);
                        }

                        run.Clear();
                        pen = 'M';
                        continue;
                    }

                    var point = (X(time, from, to), Y(value, max));
                    run.Add(point);
                    path.Append(pen).Append(F(point.Item1)).Append(',').Append(F(point.Item2)).Append(' ');
                    pen = 'L';
                }

                foreach (var (x, y) in alone)
                {
                    w.WriteStartElement("circle");
                    w.WriteAttributeString("cx", F(x));
                    w.WriteAttributeString("cy", F(y));
                    w.WriteAttributeString("r", "3");
                    w.WriteAttributeString("fill", s.Color);
                    Title(w, s.Name);
                    w.WriteEndElement();
                }

                if (path.Length > 0)
                {
                    w.WriteStartElement("path");
                    w.WriteAttributeString("d", path.ToString().TrimEnd());
                    w.WriteAttributeString("fill", "none");
                    w.WriteAttributeString("stroke", s.Color);
                    w.WriteAttributeString("stroke-width", "1.5");
                    Title(w, s.Name);
                    w.WriteEndElement();
                }
            }

            Legend(w, series);
        });

    /// <summary>Stacked columns over time (requests by status class): one column per bucket of <paramref name="bucket"/>.</summary>
    public static string StackedColumns(string id, string title, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket, IReadOnlyList<ChartSeries> series, string unit) =>
        Render(id, title, (w, plot) =>
        {
            var totals = new Dictionary<DateTimeOffset, double>();
            foreach (var (time, value) in series.SelectMany(s => s.Points))
            {
                totals[time] = totals.GetValueOrDefault(time) + (double.IsFinite(value) ? value : 0);
            }

            var max = NiceMax(totals.Values.DefaultIfEmpty(0).Max());
            Axes(w, from, to, max, unit);
            var columnWidth = Math.Max(0.5, (Width - Left - Right) * bucket.TotalSeconds / Math.Max(1, (to - from).TotalSeconds) * 0.85);
            var stacked = new Dictionary<DateTimeOffset, double>();
            foreach (var s in series)
            {
                foreach (var (time, value) in s.Points)
                {
                    if (!double.IsFinite(value) || value <= 0)
                    {
                        continue;
                    }

                    var below = stacked.GetValueOrDefault(time);
                    stacked[time] = below + value;
                    var top = Y(below + value, max);
                    // The bucket that holds the range's end starts inside it and would reach past the axis: cut at the plot's edge.
                    var x = X(time, from, to);
                    var width = Math.Min(columnWidth, Width - Right - x);
                    if (width <= 0)
                    {
                        continue;
                    }

                    w.WriteStartElement("rect");
                    w.WriteAttributeString("x", F(x));
                    w.WriteAttributeString("y", F(top));
                    w.WriteAttributeString("width", F(width));
                    w.WriteAttributeString("height", F(Y(below, max) - top));
                    w.WriteAttributeString("fill", s.Color);
                    Title(w, $"{s.Name} {time.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}: {value.ToString("0.###", CultureInfo.InvariantCulture)}");
                    w.WriteEndElement();
                }
            }

            Legend(w, series);
        });

    /// <summary>Horizontal bars, largest first (top applications, operations, plans, error statuses).</summary>
    public static string Bars(string id, string title, IReadOnlyList<ChartBar> bars, string unit, string color = "#3b6ea5")
    {
        var rows = Math.Max(1, bars.Count);
        var height = Top + (rows * 22) + 16;
        return Render(id, title, height, (w, plot) =>
        {
            if (bars.Count == 0)
            {
                Text(w, Left, Top + 16, "No requests in this range.", "start");
                return;
            }

            var max = NiceMax(bars.Max(b => b.Value));
            const int labelWidth = 220;
            var span = Width - labelWidth - Right - 80;
            for (var i = 0; i < bars.Count; i++)
            {
                var y = Top + (i * 22);
                var label = bars[i].Label.Length == 0 ? "(none)" : bars[i].Label;
                Text(w, labelWidth - 6, y + 15, label.Length > 28 ? label[..27] + "…" : label, "end"); // what fits left of the bars at the chart's font; the bar's title has all of it
                w.WriteStartElement("rect");
                w.WriteAttributeString("x", F(labelWidth));
                w.WriteAttributeString("y", F(y + 3));
                w.WriteAttributeString("width", F(Math.Max(1, span * bars[i].Value / max)));
                w.WriteAttributeString("height", "16");
                w.WriteAttributeString("fill", color);
                Title(w, $"{label}: {bars[i].Value.ToString("0.###", CultureInfo.InvariantCulture)} {unit}");
                w.WriteEndElement();
                Text(w, labelWidth + (span * bars[i].Value / max) + 6, y + 15, $"{bars[i].Value.ToString("#,0.###", CultureInfo.InvariantCulture)}", "start");
            }
        });
    }

    /// <summary>The tick step and label format for a time axis from <paramref name="from"/> to <paramref name="to"/> (at most 8 ticks).</summary>
    public static (TimeSpan Step, string Format) TimeTicks(DateTimeOffset from, DateTimeOffset to)
    {
        var range = to - from;
        foreach (var tick in TimeSteps)
        {
            if (range / tick.Step <= 8)
            {
                return tick;
            }
        }

        return (TimeSpan.FromDays(Math.Ceiling(range.TotalDays / 8)), "yyyy-MM-dd");
    }

    private static string Render(string id, string title, Action<XmlWriter, object?> draw) => Render(id, title, Height, draw);

    private static string Render(string id, string title, int height, Action<XmlWriter, object?> draw)
    {
        var text = new StringBuilder();
        using (var w = XmlWriter.Create(text, new XmlWriterSettings { OmitXmlDeclaration = true, ConformanceLevel = ConformanceLevel.Fragment }))
        {
            w.WriteStartElement("svg", "http://www.w3.org/2000/svg");
            w.WriteAttributeString("viewBox", $"0 0 {Width} {height}");
            w.WriteAttributeString("width", "100%");
            w.WriteAttributeString("role", "img");
            w.WriteAttributeString("aria-labelledby", id + "-title");
            w.WriteAttributeString("font-family", "system-ui, sans-serif");
            w.WriteAttributeString("font-size", "11");
            w.WriteStartElement("title");
            w.WriteAttributeString("id", id + "-title");
            w.WriteString(title);
            w.WriteEndElement();
            w.WriteStartElement("text");
            w.WriteAttributeString("x", F(Left));
            w.WriteAttributeString("y", "18");
            w.WriteAttributeString("font-size", "13");
            w.WriteAttributeString("font-weight", "600");
            w.WriteAttributeString("fill", "#1b1b1b");
            w.WriteString(title);
            w.WriteEndElement();
            draw(w, null);
            w.WriteEndElement();
        }

        return text.ToString();
    }

    private static void Axes(XmlWriter w, DateTimeOffset from, DateTimeOffset to, double max, string unit)
    {
        for (var i = 0; i <= 4; i++)
        {
            var value = max * i / 4;
            var y = Y(value, max);
            Line(w, Left, y, Width - Right, y, i == 0 ? "#555" : "#ddd");
            Text(w, Left - 6, y + 4, Compact(value) + (i == 4 ? " " + unit : ""), "end");
        }

        var (step, format) = TimeTicks(from, to);
        var first = DateTimeOffset.FromUnixTimeSeconds((long)(Math.Ceiling(from.ToUnixTimeSeconds() / step.TotalSeconds) * step.TotalSeconds));
        for (var t = first; t <= to; t += step)
        {
            var x = X(t, from, to);
            Line(w, x, Height - Bottom, x, Height - Bottom + 4, "#555");
            Text(w, x, Height - Bottom + 16, t.UtcDateTime.ToString(format, CultureInfo.InvariantCulture), "middle");
        }

        Text(w, Width - Right, Height - 6, "UTC", "end");
    }

    private static void Legend(XmlWriter w, IReadOnlyList<ChartSeries> series)
    {
        var x = Left + 200.0;
        foreach (var s in series)
        {
            w.WriteStartElement("rect");
            w.WriteAttributeString("x", F(x));
            w.WriteAttributeString("y", "9");
            w.WriteAttributeString("width", "10");
            w.WriteAttributeString("height", "10");
            w.WriteAttributeString("fill", s.Color);
            w.WriteEndElement();
            var name = s.Name.Length > 24 ? s.Name[..23] + "…" : s.Name;
            Text(w, x + 14, 18, name, "start");
            x += 24 + (name.Length * 6.5);
        }
    }

    private static void Line(XmlWriter w, double x1, double y1, double x2, double y2, string color)
    {
        w.WriteStartElement("line");
        w.WriteAttributeString("x1", F(x1));
        w.WriteAttributeString("y1", F(y1));
        w.WriteAttributeString("x2", F(x2));
        w.WriteAttributeString("y2", F(y2));
        w.WriteAttributeString("stroke", color);
        w.WriteEndElement();
    }

    private static void Text(XmlWriter w, double x, double y, string text, string anchor)
    {
        w.WriteStartElement("text");
        w.WriteAttributeString("x", F(x));
        w.WriteAttributeString("y", F(y));
        w.WriteAttributeString("text-anchor", anchor);
        w.WriteAttributeString("fill", "#333");
        w.WriteString(text);
        w.WriteEndElement();
    }

    private static void Title(XmlWriter w, string text)
    {
        w.WriteStartElement("title");
        w.WriteString(text);
        w.WriteEndElement();
    }

    private static double X(DateTimeOffset time, DateTimeOffset from, DateTimeOffset to) =>
        Left + ((Width - Left - Right) * Math.Clamp((time - from) / Math.Max(1e-9, (to - from).TotalSeconds) / TimeSpan.FromSeconds(1), 0, 1));

    private static double Y(double value, double max) => Height - Bottom - ((Height - Top - Bottom) * Math.Clamp(value / max, 0, 1));

    /// <summary>1, 2 or 5 times a power of ten at or above <paramref name="value"/> (1 when there is nothing to show).</summary>
    internal static double NiceMax(double value)
    {
        if (!(value > 0))
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1.0, 2, 5, 10 })
        {
            if (step * power >= value)
            {
                return step * power;
            }
        }

        return 10 * power;
    }

    private static string Compact(double value) =>
        value >= 1e9 ? (value / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + "G"
        : value >= 1e6 ? (value / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M"
        : value >= 1e3 ? (value / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k"
        : value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
