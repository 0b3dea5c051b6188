namespace Gatehouse.Gateway.Observability;

/// <summary>
/// A bounded, lock-free queue of structs between the request path (many writers) and one background reader. A writer
/// never waits: when the queue is full the item is dropped and counted in <see cref="Dropped"/>.
/// </summary>
/// <remarks>
/// Written here because nothing served does this: <c>System.Threading.Channels</c>' bounded channel takes a lock on every
/// write, and <c>ConcurrentQueue</c> is unbounded and allocates segments as it grows. This is Dmitry Vyukov's bounded
/// queue: each slot carries a sequence number that says whether it is free for the writer of position <c>p</c> (it equals
/// <c>p</c>) or holds that writer's item (<c>p + 1</c>), so a writer claims a position with one compare-and-swap and
/// publishes its item with one release write. Nothing is allocated after construction.
/// </remarks>
internal sealed class RecordQueue<T>
    where T : struct
{
    private readonly Slot[] _slots;
    private readonly long _mask;
    private PaddedCounter _enqueue;
    private long _dequeue;
    private long _dropped;

    public RecordQueue(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        var size = (int)Math.Min(1 << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, capacity)));
        _slots = new Slot[size];
        _mask = size - 1;
        for (var i = 0; i < size; i++)
        {
            _slots[i].Sequence = i;
        }
    }

    /// <summary>Slots (the capacity rounded up to a power of two).</summary>
    public int Capacity => _slots.Length;

    /// <summary>Items refused because the queue was full.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Items waiting (approximate while writers are active).</summary>
    public long Count => Math.Max(0, Volatile.Read(ref _enqueue.Value) - Volatile.Read(ref _dequeue));

    /// <summary>Adds <paramref name="item"/>; false (counted as dropped) when the queue is full. Safe from any thread.</summary>
    public bool TryEnqueue(in T item)
    {
        var position = Volatile.Read(ref _enqueue.Value);
        while (true)
        {
            ref var slot = ref _slots[position & _mask];
            var sequence = Volatile.Read(ref slot.Sequence);
            var difference = sequence - position;
            if (difference == 0)
            {
                var claimed = Interlocked.CompareExchange(ref _enqueue.Value, position + 1, position);
                if (claimed == position)
                {
                    slot.Item = item;
                    Volatile.Write(ref slot.Sequence, position + 1);
                    return true;
                }

                position = claimed;
            }
            else if (difference < 0)
            {
                // The slot still holds the item of the lap before: the queue is full.
                Interlocked.Increment(ref _dropped);
                return false;
            }
            else
            {
                position = Volatile.Read(ref _enqueue.Value);
            }
        }
    }

    /// <summary>Takes the oldest item. Only one thread may call this (the background reader).</summary>
    public bool TryDequeue(out T item)
    {
        var position = _dequeue;
        ref var slot = ref _slots[position & _mask];
        if (Volatile.Read(ref slot.Sequence) != position + 1)
        {
            item = default;
            return false;
        }

        item = slot.Item;
        slot.Item = default;
        Volatile.Write(ref slot.Sequence, position + _mask + 1);
        _dequeue = position + 1;
        return true;
    }

    private struct Slot
    {
        public long Sequence;
        public T Item;
    }
}

/// <summary>A counter on a cache line of its own (the queue's writers' position, away from the reader's).</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit, Size = 128)]
internal struct PaddedCounter
{
    [System.Runtime.InteropServices.FieldOffset(64)]
    public long Value;
}
