using System.Threading.Channels;
using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Registrations;

/// <summary>
/// Registrations and heartbeats written to the store together (group commit): each <see cref="WriteAsync"/> joins the
/// next batch, and one writer writes every row that arrived while the batch before was being written, in one
/// transaction. A commit waits for the disk (SQLite's <c>synchronous = FULL</c>, PostgreSQL's WAL flush), so one
/// transaction per heartbeat held a control plane to a few hundred heartbeats a second (167 a second from 16 clients on
/// SQLite, docs/benchmarks.md); a batch pays that wait once. A row is answered when its batch is committed, never
/// before; a batch that fails fails every row in it, as a single write would have.
/// </summary>
/// <remarks>
/// Written here rather than with a package: what is needed is one loop over a <see cref="Channel{T}"/> (the framework's),
/// started when rows arrive and ending when none are left, so that an idle control plane has no loop at all.
/// </remarks>
internal sealed class RegistrationWrites(IConfigStore store)
{
    /// <summary>The most rows one transaction writes; more wait for the next.</summary>
    public const int MaxBatch = 512;

    private readonly Channel<(Registration Row, TaskCompletionSource Done)> _pending =
        Channel.CreateUnbounded<(Registration, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private int _writing;
    private long _batches;

    /// <summary>Transactions written so far (tests read how rows were grouped).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Creates or renews <paramref name="row"/>; completes when the transaction that holds it is committed.</summary>
    public Task WriteAsync(Registration row)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending.Writer.TryWrite((row, done)); // unbounded: each row is a request waiting for its answer
        if (Interlocked.CompareExchange(ref _writing, 1, 0) == 0)
        {
            _ = Task.Run(WriteBatchesAsync);
        }

        return done.Task;
    }

    private async Task WriteBatchesAsync()
    {
        var batch = new List<(Registration Row, TaskCompletionSource Done)>();
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            if (batch.Count == 0)
            {
                Volatile.Write(ref _writing, 0);
                // A row written after the last read but before the flag was down started no writer: take it on here.
                if (_pending.Reader.TryPeek(out _) && Interlocked.CompareExchange(ref _writing, 1, 0) == 0)
                {
                    continue;
                }

                return;
            }

            try
            {
                await store.UpsertRegistrationsAsync([.. batch.Select(b => b.Row)], CancellationToken.None).ConfigureAwait(false);
                Interlocked.Increment(ref _batches);
                foreach (var (_, done) in batch)
                {
                    done.TrySetResult();
                }
            }
            catch (Exception e)
            {
                foreach (var (_, done) in batch)
                {
                    done.TrySetException(e);
                }
            }
        }
    }
}
