using Gatehouse.Gateway.Upstreams;

namespace Gatehouse.Gateway.Tests.LoadBalancing;

/// <summary>Destination sets for policy tests.</summary>
internal static class Destinations
{
    public static Destination[] WithWeights(params int[] weights) =>
        [.. weights.Select((w, i) => new Destination(new Uri($"http://10.0.0.{i + 1}:8080"), $"10.0.0.{i + 1}", w))];

    public static Destination[] Count(int n) => WithWeights([.. Enumerable.Repeat(1, n)]);

    /// <summary>Picks <paramref name="picks"/> times and counts the picks of each destination (index → count).</summary>
    public static int[] Tally(Func<Destination?> pick, Destination[] destinations, int picks)
    {
        var counts = new int[destinations.Length];
        for (var i = 0; i < picks; i++)
        {
            var d = pick() ?? throw new InvalidOperationException("Pick returned null while a destination was available.");
            counts[Array.IndexOf(destinations, d)]++;
        }

        return counts;
    }

    /// <summary>Makes a destination have <paramref name="n"/> requests in flight.</summary>
    public static void Load(Destination d, int n)
    {
        for (var i = 0; i < n; i++)
        {
            d.BeginRequest();
        }
    }
}
