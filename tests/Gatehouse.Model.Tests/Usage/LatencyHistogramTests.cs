using Gatehouse.Model.Usage;

namespace Gatehouse.Model.Tests.Usage;

/// <summary>The rollups' latency histogram: its stated error bound holds, and merging loses nothing.</summary>
[Trait("Issue", "19")]
public sealed class LatencyHistogramTests
{
    [Fact]
    public void Quantiles_OfLogUniformSamples_AreWithinTheStatedRelativeErrorOfTheExactNearestRank()
    {
        var random = new Random(19);
        var samples = Enumerable.Range(0, 100_000).Select(_ => Math.Pow(10, 1 + (random.NextDouble() * 6))).ToArray(); // 10 µs .. 10 s
        var histogram = new LatencyHistogram();
        foreach (var s in samples)
        {
            histogram.Record(s);
        }

        Array.Sort(samples);
        foreach (var q in new[] { 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0 })
        {
            var exact = samples[(int)Math.Ceiling(q * samples.Length) - 1];
            var reported = histogram.Quantile(q);
            Assert.True(Math.Abs(reported - exact) / exact <= LatencyHistogram.RelativeError + 1e-12, $"q={q}: reported {reported}, exact {exact}");
        }
    }

    [Fact]
    public void RelativeError_IsTheStatedBound()
    {
        Assert.Equal(0.0443, LatencyHistogram.RelativeError, 4);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1.09)]
    [InlineData(999.9)]
    [InlineData(1000)]
    [InlineData(123_456.7)]
    [InlineData(3_000_000_000)]
    public void EverySingleValue_ReadsBackWithinTheBound(double micros)
    {
        var histogram = new LatencyHistogram();
        histogram.Record(micros);

        Assert.InRange(histogram.Quantile(0.5), micros / (1 + LatencyHistogram.RelativeError), micros * (1 + LatencyHistogram.RelativeError));
    }

    [Fact]
    public void Merge_OfParts_EqualsTheWhole()
    {
        var random = new Random(7);
        var whole = new LatencyHistogram();
        var parts = Enumerable.Range(0, 5).Select(_ => new LatencyHistogram()).ToArray();
        for (var i = 0; i < 20_000; i++)
        {
            var v = random.NextDouble() * 50_000;
            whole.Record(v);
            parts[i % 5].Record(v);
        }

        var merged = new LatencyHistogram();
        foreach (var p in parts)
        {
            merged.Merge(LatencyHistogram.FromBytes(p.ToBytes()));
        }

        Assert.Equal(whole.Count, merged.Count);
        Assert.Equal(whole.Buckets(), merged.Buckets());
    }

    [Fact]
    public void Bytes_RoundTripLargeCountsAndEveryBucket()
    {
        var histogram = new LatencyHistogram();
        for (var i = 0; i < LatencyHistogram.BucketCount; i++)
        {
            histogram.Add(i, (long)i * 1_000_000_007);
        }

        var copy = LatencyHistogram.FromBytes(histogram.ToBytes());

        Assert.Equal(histogram.Buckets(), copy.Buckets());
        Assert.Equal(histogram.Count, copy.Count);
    }

    [Fact]
    public void Merges_OfSparseRuns_EqualAddingEachBucket_WhateverOverlaps()
    {
        // The one-pass merge against the plain one: random sparse histograms (empty, one bucket, overlapping, disjoint, all
        // 256), merged as objects, as bytes, into themselves, and from bytes out of order (which take the slow path).
        var random = new Random(23);
        for (var round = 0; round < 2_000; round++)
        {
            var target = Sparse(random);
            var source = Sparse(random);
            var expected = new SortedDictionary<int, long>();
            foreach (var (index, count) in target.Buckets().Concat(source.Buckets()))
            {
                expected[index] = expected.GetValueOrDefault(index) + count;
            }

            var viaObject = LatencyHistogram.FromBytes(target.ToBytes());
            viaObject.Merge(source);
            var viaBytes = LatencyHistogram.FromBytes(target.ToBytes());
            Assert.True(viaBytes.MergeBytes(source.ToBytes()));
            var reversed = LatencyHistogram.FromBytes(target.ToBytes());
            Assert.True(reversed.MergeBytes(Reversed(source)));
            foreach (var merged in new[] { viaObject, viaBytes, reversed })
            {
                Assert.Equal(expected.Select(e => (e.Key, e.Value)), merged.Buckets());
                Assert.Equal(expected.Values.Sum(), merged.Count);
                Assert.Equal(expected.Count, merged.BucketsUsed);
            }

            var doubled = LatencyHistogram.FromBytes(target.ToBytes());
            doubled.Merge(doubled);
            Assert.Equal(target.Buckets().Select(b => (b.Index, b.Count * 2)), doubled.Buckets());
            Assert.Equal(target.Count * 2, doubled.Count);
        }

        static LatencyHistogram Sparse(Random random)
        {
            var histogram = new LatencyHistogram();
            var buckets = random.Next(5) switch { 0 => 0, 1 => 1, 2 => LatencyHistogram.BucketCount, _ => random.Next(2, 40) };
            foreach (var index in Enumerable.Range(0, LatencyHistogram.BucketCount).OrderBy(_ => random.Next()).Take(buckets))
            {
                histogram.Add(index, random.NextInt64(1, 1L << 40));
            }

            return histogram;
        }

        static byte[] Reversed(LatencyHistogram histogram) =>
            [.. histogram.Buckets().Reverse().SelectMany(b => LatencyHistogram.FromBytes(Single(b.Index, b.Count)).ToBytes())];

        static byte[] Single(int index, long count)
        {
            var one = new LatencyHistogram();
            one.Add(index, count);
            return one.ToBytes();
        }
    }

    [Fact]
    public void MalformedBytes_AreRefused()
    {
        var histogram = new LatencyHistogram();

        Assert.False(histogram.MergeBytes([5, 0x80]));
    }

    [Fact]
    public void Empty_HasNoQuantile()
    {
        Assert.True(double.IsNaN(new LatencyHistogram().Quantile(0.5)));
    }
}
