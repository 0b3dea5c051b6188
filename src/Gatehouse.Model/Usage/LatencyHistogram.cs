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

    // Allocated at the first bucket, to the size of the first merge when that comes first (an analytics query makes one
    // histogram per point and merges stored ones into it).
    private byte[] _indexes = [];
    private long[] _counts = [];
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
                Array.Resize(ref _indexes, Math.Max(4, _used * 2));
                Array.Resize(ref _counts, Math.Max(4, _used * 2));
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
        if (ReferenceEquals(other, this))
        {
            MergeSorted(_indexes.AsSpan(0, _used).ToArray(), _counts.AsSpan(0, _used).ToArray());
            return;
        }

        MergeSorted(other._indexes.AsSpan(0, other._used), other._counts.AsSpan(0, other._used));
    }

    /// <summary>
    /// Adds a run of buckets in increasing index order, each once, with positive counts: one pass over both runs from their
    /// ends (an analytics query merges tens of thousands of stored histograms; adding bucket by bucket searched and shifted
    /// the arrays for each).
    /// </summary>
    private void MergeSorted(ReadOnlySpan<byte> indexes, ReadOnlySpan<long> counts)
    {
        var n = indexes.Length;
        if (n == 0)
        {
            return;
        }

        var total = _used + n;
        if (_indexes.Length < total)
        {
            var capacity = Math.Max(total, Math.Min(BucketCount, _indexes.Length * 2));
            Array.Resize(ref _indexes, capacity);
            Array.Resize(ref _counts, capacity);
        }

        // From the back: the write position k stays above i, so nothing of this run is overwritten before it is read.
        int i = _used - 1, j = n - 1, k = total - 1;
        long added = 0;
        while (j >= 0)
        {
            if (i >= 0 && _indexes[i] > indexes[j])
            {
                _indexes[k] = _indexes[i];
                _counts[k] = _counts[i--];
            }
            else
            {
                var count = counts[j];
                added += count;
                if (i >= 0 && _indexes[i] == indexes[j])
                {
                    count += _counts[i--];
                }

                _indexes[k] = indexes[j--];
                _counts[k] = count;
            }

            k--;
        }

        // Buckets both had left a gap between this run's untouched head [0, i] and the merged tail (k, total).
        var tail = total - 1 - k;
        if (k > i)
        {
            Array.Copy(_indexes, k + 1, _indexes, i + 1, tail);
            Array.Copy(_counts, k + 1, _counts, i + 1, tail);
        }

        _used = i + 1 + tail;
        Count += added;
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
        // The stored form lists buckets in index order, each once: decoded into a run, it merges in one pass.
        Span<byte> indexes = stackalloc byte[BucketCount];
        Span<long> counts = stackalloc long[BucketCount];
        var n = 0;
        var at = 0;
        while (at < bytes.Length)
        {
            var index = bytes[at++];
            if (!TryReadCount(bytes, ref at, out var value) || (n > 0 && index <= indexes[n - 1]))
            {
                // Malformed, or not in the stored order: add bucket by bucket, as far as it reads.
                return MergeBytesOneByOne(bytes);
            }

            if ((long)value > 0)
            {
                indexes[n] = index;
                counts[n++] = (long)value;
            }
        }

        MergeSorted(indexes[..n], counts[..n]);
        return true;
    }

    private bool MergeBytesOneByOne(ReadOnlySpan<byte> bytes)
    {
        var at = 0;
        while (at < bytes.Length)
        {
            var index = bytes[at++];
            if (!TryReadCount(bytes, ref at, out var value))
            {
                return false;
            }

            Add(index, (long)value);
        }

        return true;
    }

    /// <summary>An unsigned LEB128 count at <paramref name="at"/>; false when it runs past the end or past 64 bits.</summary>
    private static bool TryReadCount(ReadOnlySpan<byte> bytes, ref int at, out ulong value)
    {
        value = 0;
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
                return true;
            }

            shift += 7;
        }
    }

    /// <summary>A histogram read from <see cref="ToBytes"/>'s form.</summary>
    public static LatencyHistogram FromBytes(ReadOnlySpan<byte> bytes)
    {
        var histogram = new LatencyHistogram();
        histogram.MergeBytes(bytes);
        return histogram;
    }
}
