using Gatehouse.Gateway.Ai;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// The counts of long texts kept by hash, so that an agent's repeated prefix (system prompt, tools, earlier turns) is
/// counted once rather than with every call.
/// </summary>
[Trait("Issue", "22")]
public sealed class TokenCountCacheTests
{
    private static readonly string Long = string.Join(' ', Enumerable.Range(0, 300).Select(i => $"word{i}"));

    [Fact]
    public void ALongTextCountedAgain_IsAnsweredFromTheKeptCount_AndEqualsTheTokenizersCount()
    {
        var counted = new List<string>();
        var cache = new TokenCountCache(8, text => { counted.Add(text); return TokenCounter.Count(text); });

        var first = cache.Count(Long);
        var again = cache.Count(Long);
        var other = cache.Count(Long + "!");
        var shortOne = cache.Count("short");
        cache.Count("short");

        Assert.Equal(TokenCounter.Count(Long), first);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other); // one more character, its own count
        Assert.Equal(1, cache.Hits);
        Assert.Equal([Long, Long + "!", "short", "short"], counted); // short texts are counted each time
        Assert.Equal(TokenCounter.Count("short"), shortOne);
    }

    [Fact]
    public void WhenTheNewerGenerationFills_TheOlderIsDropped_AndWhatWasInTheNewerIsStillKept()
    {
        var calls = 0;
        var cache = new TokenCountCache(2, text => { calls++; return text.Length; });
        string Text(int i) => new string((char)('a' + i), TokenCountCache.Cacheable);

        cache.Count(Text(0));
        cache.Count(Text(1)); // generation 1: 0, 1
        cache.Count(Text(2)); // full: generation 1 becomes the older; generation 2: 2
        cache.Count(Text(0)); // from the older, kept again in the newer: 2, 0
        cache.Count(Text(3)); // full again: the older (0, 1) dropped; generation 3: 3
        var before = calls;
        cache.Count(Text(0)); // in the older generation (2, 0)
        cache.Count(Text(1)); // dropped: counted again

        Assert.Equal(4, before); // texts 0, 1, 2 and 3 once each
        Assert.Equal(5, calls); // and 1 again
        Assert.Equal(2, cache.Hits);
    }
}
