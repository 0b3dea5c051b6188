using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Microsoft.ML.Tokenizers;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Counts tokens where a provider's usage is missing, and for the prompt estimate of admission: o200k_base, the
/// encoding of OpenAI's current models (from <c>Microsoft.ML.Tokenizers.Data.O200kBase</c>, no download). Other
/// providers' tokenizers differ, so such counts are marked estimated.
/// </summary>
/// <remarks>
/// Counts of long texts are kept by a hash of the text: an agent sends its system prompt, its tools and every earlier
/// turn again with each call, and counting an agent's prompt of 160,000 characters (36,000 tokens) takes about 8 ms of
/// CPU before the call can go to its provider (measured 2026-12-07 on the 2-vCPU machine). With the counts kept, a call
/// counts only what is new in it. The hash is XxHash128 with a seed drawn at start, so that nobody can make two texts
/// share a count; the kept counts are bounded (two generations of 16,384, about 50 bytes each, the older dropped whole
/// when the newer fills).
/// </remarks>
internal static class TokenCounter
{
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly TokenCountCache Kept = new(16_384, text => Tokenizer.Value.CountTokens(text));

    public static int Count(string text) => text.Length == 0 ? 0 : Kept.Count(text);
}

/// <summary>Counts of long texts by a seeded 128-bit hash, in two bounded generations (see <see cref="TokenCounter"/>).</summary>
internal sealed class TokenCountCache(int capacity, Func<string, int> count)
{
    /// <summary>Texts shorter than this (in chars) are counted each time: that is about as fast as hashing them.</summary>
    internal const int Cacheable = 512;

    private readonly long _seed = Random.Shared.NextInt64();
    private readonly Lock _gate = new();
    private ConcurrentDictionary<UInt128, int> _current = new();
    private ConcurrentDictionary<UInt128, int> _previous = new();
    private long _hits;

    /// <summary>Counts answered from the kept ones.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    public int Count(string text)
    {
        if (text.Length < Cacheable)
        {
            return count(text);
        }

        var key = XxHash128.HashToUInt128(MemoryMarshal.AsBytes(text.AsSpan()), _seed);
        if (Volatile.Read(ref _current).TryGetValue(key, out var counted) || Volatile.Read(ref _previous).TryGetValue(key, out counted))
        {
            Interlocked.Increment(ref _hits);
            Keep(key, counted);
            return counted;
        }

        counted = count(text);
        Keep(key, counted);
        return counted;
    }

    private void Keep(UInt128 key, int counted)
    {
        var current = Volatile.Read(ref _current);
        if (current.Count >= capacity)
        {
            lock (_gate)
            {
                // The newer generation is full: it becomes the older, and the older is dropped whole.
                if (ReferenceEquals(current, _current))
                {
                    Volatile.Write(ref _previous, current);
                    Volatile.Write(ref _current, new ConcurrentDictionary<UInt128, int>());
                }

                current = _current;
            }
        }

        current[key] = counted;
    }
}
