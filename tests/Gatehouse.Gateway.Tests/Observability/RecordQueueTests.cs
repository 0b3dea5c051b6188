using Gatehouse.Gateway.Observability;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>The queue between the request path and the usage aggregator: bounded, lossless until full, counting what it drops.</summary>
[Trait("Issue", "19")]
public sealed class RecordQueueTests
{
    [Fact]
    public async Task ManyWriters_OneReader_EveryItemArrivesOnceWhenThereIsRoom()
    {
        var queue = new RecordQueue<long>(1 << 20);
        const int writers = 8;
        const int perWriter = 50_000;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < perWriter; i++)
            {
                Assert.True(queue.TryEnqueue((w * (long)perWriter) + i));
            }
        })));

        var seen = new bool[writers * perWriter];
        var count = 0;
        while (queue.TryDequeue(out var item))
        {
            Assert.False(seen[item], $"item {item} came out twice");
            seen[item] = true;
            count++;
        }

        Assert.Equal(writers * perWriter, count);
        Assert.Equal(0, queue.Dropped);
    }

    [Fact]
    public async Task WritersAndReaderAtOnce_DeliveredPlusDroppedIsEverythingWritten()
    {
        var queue = new RecordQueue<long>(64);
        const int writers = 4;
        const int perWriter = 100_000;
        long delivered = 0;
        using var done = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            while (true)
            {
                var finished = done.IsCancellationRequested;
                while (queue.TryDequeue(out _))
                {
                    delivered++;
                }

                if (finished)
                {
                    return;
                }
            }
        });
        long accepted = 0;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < perWriter; i++)
            {
                if (queue.TryEnqueue(i))
                {
                    Interlocked.Increment(ref accepted);
                }
            }
        })));
        await done.CancelAsync();
        await reader;

        Assert.Equal(accepted, delivered);
        Assert.Equal(writers * perWriter, accepted + queue.Dropped);
    }

    [Fact]
    public void Full_RefusesAndCounts_ThenTakesAgainOnceRead()
    {
        var queue = new RecordQueue<int>(4);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(queue.TryEnqueue(i));
        }

        Assert.False(queue.TryEnqueue(99));
        Assert.False(queue.TryEnqueue(100));
        Assert.Equal(2, queue.Dropped);
        Assert.True(queue.TryDequeue(out var first));
        Assert.Equal(0, first);
        Assert.True(queue.TryEnqueue(5));
        Assert.Equal([1, 2, 3, 5], Drain(queue));
    }

    [Fact]
    public async Task SmallQueueLappedManyTimes_EachAcceptedItemArrivesOnceWithItsOwnValue()
    {
        // Eight slots, four writers and a reader at once: every slot is reused tens of thousands of times, so a writer that
        // took a slot the reader had not emptied yet would show here as a lost, doubled or torn item.
        var queue = new RecordQueue<(long Id, long Check)>(8);
        const int writers = 4;
        const int perWriter = 100_000;
        var seen = new bool[writers * perWriter];
        var torn = 0;
        var doubled = 0;
        long delivered = 0;
        using var done = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            while (true)
            {
                var finished = done.IsCancellationRequested;
                while (queue.TryDequeue(out var item))
                {
                    delivered++;
                    if (item.Check != ~item.Id)
                    {
                        torn++;
                    }
                    else if (seen[item.Id])
                    {
                        doubled++;
                    }
                    else
                    {
                        seen[item.Id] = true;
                    }
                }

                if (finished)
                {
                    return;
                }
            }
        });
        var accepted = new bool[writers * perWriter];
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < perWriter; i++)
            {
                long id = (w * perWriter) + i;
                accepted[id] = queue.TryEnqueue((id, ~id));
            }
        })));
        await done.CancelAsync();
        await reader;

        Assert.Equal(0, torn);
        Assert.Equal(0, doubled);
        Assert.Equal(accepted.Count(a => a), delivered);
        Assert.True(accepted.SequenceEqual(seen), "an accepted item did not arrive, or a refused one did");
        Assert.Equal(writers * perWriter, delivered + queue.Dropped);
    }

    private static List<int> Drain(RecordQueue<int> queue)
    {
        var items = new List<int>();
        while (queue.TryDequeue(out var item))
        {
            items.Add(item);
        }

        return items;
    }
}
