namespace Gatehouse.Model.Usage;

/// <summary>
/// A mergeable latency histogram with fixed, log-spaced buckets: eight per doubling of the latency in microseconds.
/// Bucket 0 holds latencies under 1 µs; bucket <c>i ≥ 1</c> holds [2^((i-1)/8), 2^(i/8)) µs, up to bucket 255
/// (about an hour and more). A percentile is answered with the geometric middle of the bucket that holds the
/// sample of that rank, so it is within a factor 2^(1/16) of that sample: <b>a relative error of at most 4.43 %</b>
/// (under 1 µs, an absolute error under 1 µs). Two histograms merge by adding counts, so minutes add up to hours,
/// and nodes add up to a cluster, without losing anything more.
/// </summary>
/// <remarks>
/// Written here rather than taken from HdrHistogram (which is served): rollups must merge inside the store's rows and
/// be read back by thousands per query, and a fixed 256-bucket layout stored sparsely (a few dozen bytes per row)
/// does that with a simple, stated error bound. Sparse: only non-empty buckets are held, in index order.
/// </remarks>
public sealed class LatencyHistogram
{
    /// <summary>Number of buckets.</summary>
    public const int BucketCount = 256;

    /// <summary>Buckets per doubling.</summary>
    public const int BucketsPerOctave = 8;

    /// <summary>The largest relative error of a percentile: 2^(1/16) - 1.</summary>
    public static readonly double RelativeError = Math.Pow(2, 1.0 / (2 * BucketsPerOctave)) - 1;

    private byte[] _indexes = new byte[4];
    private long[] _counts = new long[4];
    private int _used;

    /// <summary>Samples recorded.</summary>
    public long Count { get; private set; }

    /// <summary>Non-empty buckets.</summary>
    public int BucketsUsed => _used;

    /// <summary>The bucket of a latency of <paramref name="microseconds"/>.</summary>
    public static int BucketOf(double microseconds)
    {
        if (!(microseconds >= 1))
        {
            return 0;
        }

        var index = 1 + (int)Math.Floor(BucketsPerOctave * Math.Log2(microseconds));
        return Math.Min(index, BucketCount - 1);
    }

    /// <summary>The value reported for bucket <paramref name="index"/>, in microseconds: its geometric middle (0.5 for bucket 0).</summary>
    public static double ValueOf(int index) => index == 0 ? 0.5 : Math.Pow(2, (index - 0.5) / BucketsPerOctave);

    /// <summary>Records one latency.</summary>
    public void Record(double microseconds) => Add(BucketOf(microseconds), 1);

    /// <summary>Adds <paramref name="count"/> samples to bucket <paramref name="index"/>.</summary>
    public void Add(int index, long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, BucketCount);
        if (count <= 0)
        {
            return;
        }

        var at = Array.BinarySearch(_indexes, 0, _used, (byte)index);
        if (at >= 0)
        {
            _counts[at] += count;
        }
        else
        {
            at = ~at;
            if (_used == _indexes.Length)
            {
                Array.Resize(ref _indexes, _used * 2);
                Array.Resize(ref _counts, _used * 2);
            }

            Array.Copy(_indexes, at, _indexes, at + 1, _used - at);
            Array.Copy(_counts, at, _counts, at + 1, _used - at);
            _indexes[at] = (byte)index;
            _counts[at] = count;
            _used++;
        }

        Count += count;
    }

    /// <summary>Adds every sample of <paramref name="other"/>.</summary>
    public void Merge(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < other._used; i++)
        {
            Add(other._indexes[i], other._counts[i]);
        }
    }

    /// <summary>
    /// The latency in microseconds at quantile <paramref name="q"/> (0 &lt; q ≤ 1): the bucket value of the sample of rank
    /// ⌈q·n⌉ (nearest rank). NaN when empty.
    /// </summary>
    public double Quantile(double q)
    {
        if (Count == 0)
        {
            return double.NaN;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * Count));
        long seen = 0;
        for (var i = 0; i < _used; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return ValueOf(_indexes[i]);
            }
        }

        return ValueOf(_indexes[_used - 1]);
    }

    /// <summary>The non-empty buckets, in index order.</summary>
    public IEnumerable<(int Index, long Count)> Buckets()
    {
        for (var i = 0; i < _used; i++)
        {
            yield return (_indexes[i], _counts[i]);
        }
    }

    /// <summary>A copy.</summary>
    public LatencyHistogram Clone()
    {
        var copy = new LatencyHistogram();
        copy.Merge(this);
        return copy;
    }

    /// <summary>
    /// The compact form kept in the store: per non-empty bucket, the index (one byte) and the count (unsigned LEB128).
    /// </summary>
    public byte[] ToBytes()
    {
        var buffer = new byte[_used * 11];
        var at = 0;
        for (var i = 0; i < _used; i++)
        {
            buffer[at++] = _indexes[i];
            var v = (ulong)_counts[i];
            while (v >= 0x80)
            {
                buffer[at++] = (byte)(v | 0x80);
                v >>= 7;
            }

            buffer[at++] = (byte)v;
        }

        return buffer.AsSpan(0, at).ToArray();
    }

    /// <summary>Reads <see cref="ToBytes"/>'s form, adding it to this histogram; false (adding what was read so far) when malformed.</summary>
    public bool MergeBytes(ReadOnlySpan<byte> bytes)
    {
        var at = 0;
        while (at < bytes.Length)
        {
            var index = bytes[at++];
            ulong value = 0;
            var shift = 0;
            while (true)
            {
                if (at >= bytes.Length || shift > 63)
                {
                    return false;
                }

                var b = bytes[at++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    break;
                }

                shift += 7;
            }

            Add(index, (long)value);
        }

        return true;
    }

    /// <summary>A histogram read from <see cref="ToBytes"/>'s form.</summary>
    public static LatencyHistogram FromBytes(ReadOnlySpan<byte> bytes)
    {
        var histogram = new LatencyHistogram();
        histogram.MergeBytes(bytes);
        return histogram;
    }
}
