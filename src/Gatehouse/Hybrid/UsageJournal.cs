using System.Globalization;
using System.Text;
using Gatehouse.Model.Nodes;
using Gatehouse.Model.Usage;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// A hybrid data node's usage, on its way to the control plane. The gateway's usage aggregator writes its rollups here
/// (whole values of this node's rows, every flush interval, off the request path); each write is one line of an
/// append-only journal file (<c>usage.journal</c>), flushed to disk before the write returns, with the next sequence
/// number. An uploader sends the entries in order to <c>POST /node/v1/usage</c>, where (node, sequence) is applied
/// once; the last acknowledged sequence is kept in <c>usage.acked</c> (written atomically). A crash at any point leaves
/// entries that are sent again, and the control plane ignores those it applied: counted once. The journal is bounded
/// (<see cref="MaxBytes"/>): a write that does not fit is refused, and the aggregator keeps the rows and tries again
/// (its own bounded buffer drops and counts). After everything is acknowledged the file is compacted to the newest value
/// of each row, which is also what a restart counts on from (<see cref="LoadAsync"/>), so a restart while the control
/// plane is away neither loses nor double-counts. Model-usage rows (tokens and cost, issue 22) travel the same way, in the
/// entries' <c>models</c>.
/// </summary>
internal sealed partial class UsageJournal : IUsageSink, IAiUsageSink, IAsyncDisposable
{
    /// <summary>The most the journal file may hold before writes are refused.</summary>
    public const long MaxBytes = 64L * 1024 * 1024;

    private const string JournalName = "usage.journal";
    private const string AckedName = "usage.acked";

    // Rows older than this are dropped at compaction: day rows are kept 40 days by the control plane's retention anyway.
    private static readonly TimeSpan Horizon = TimeSpan.FromDays(40);

    private readonly string _folder;
    private readonly Func<UsageUpload, CancellationToken, Task<bool>> _upload;
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<UsageUpload> _entries = [];
    private long _acked;
    private long _next;
    private long _bytes;
    private Task _uploader = Task.CompletedTask;

    /// <param name="folder">The node's state folder.</param>
    /// <param name="upload">Sends one entry; true when the control plane acknowledged it (applied now or before).</param>
    public UsageJournal(string folder, Func<UsageUpload, CancellationToken, Task<bool>> upload)
    {
        _folder = folder;
        _upload = upload;
        StateFiles.CreateFolder(folder);
        var acked = Path.Combine(folder, AckedName);
        _acked = File.Exists(acked) && long.TryParse(File.ReadAllText(acked).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var a) ? a : 0;
        var journal = Path.Combine(folder, JournalName);
        if (File.Exists(journal))
        {
            foreach (var line in File.ReadLines(journal))
            {
                // A line cut short by a crash mid-write is not an entry (its rows are written again at the next flush).
                if (UsageUpload.Parse(line, "") is { } entry)
                {
                    _entries.Add(entry);
                }
            }

            _bytes = new FileInfo(journal).Length;
        }

        _next = Math.Max(_acked, _entries.Count == 0 ? 0 : _entries.Max(e => e.Sequence)) + 1;
    }

    /// <summary>Where an upload that keeps failing is reported, once per outage (set once the gateway's logging exists).</summary>
    public ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Entries written and not yet acknowledged.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count(e => e.Sequence > _acked);
            }
        }
    }

    public void Start() => _uploader = Task.Run(UploadLoopAsync);

    public Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default) => Append(rows, []);

    public Task WriteAiAsync(IReadOnlyList<AiUsageRow> rows, CancellationToken cancellationToken = default) => Append([], rows);

    private Task Append(IReadOnlyList<UsageRow> rows, IReadOnlyList<AiUsageRow> models)
    {
        if (rows.Count == 0 && models.Count == 0)
        {
            return Task.CompletedTask;
        }

        lock (_lock)
        {
            var entry = new UsageUpload(_next, rows, models);
            var line = Encoding.UTF8.GetBytes(entry.ToJson() + "\n");
            if (_bytes + line.Length > MaxBytes)
            {
                throw new IOException($"The usage journal in {_folder} is full ({MaxBytes / (1024 * 1024)} MiB of uploads the control plane has not acknowledged); usage waits in memory.");
            }

            using (var file = StateFiles.OpenAppend(Path.Combine(_folder, JournalName), FileShare.Read))
            {
                file.Write(line);
                file.Flush(flushToDisk: true);
            }

            _bytes += line.Length;
            _entries.Add(entry);
            _next++;
        }

        Wake();
        return Task.CompletedTask;
    }

    // The newest value of each of this node's rows in those buckets, from the journal (the node is its rows' only writer).
    public Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default)
    {
        var wanted = buckets.ToHashSet();
        lock (_lock)
        {
            IReadOnlyList<UsageRow> rows = Newest().Where(r => wanted.Contains((r.Granularity, r.Bucket))).Select(r => r with { Node = node }).ToList();
            return Task.FromResult(rows);
        }
    }

    public Task<IReadOnlyList<AiUsageRow>> LoadAiAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default)
    {
        var wanted = buckets.ToHashSet();
        lock (_lock)
        {
            IReadOnlyList<AiUsageRow> rows = NewestModels().Where(r => wanted.Contains((r.Granularity, r.Bucket))).Select(r => r with { Node = node }).ToList();
            return Task.FromResult(rows);
        }
    }

    // Retention is the control plane's: a data node deletes nothing there.
    public Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) => Task.FromResult(0);

    public Task<int> DeleteAiBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) => Task.FromResult(0);

    private IEnumerable<UsageRow> Newest() => Newest(e => e.Rows, r => (r.Granularity, r.Bucket, r.Key));

    private IEnumerable<AiUsageRow> NewestModels() => Newest(e => e.Models, r => (r.Granularity, r.Bucket, r.Key));

    // The newest value of each row across the entries (a later entry holds the row's whole newer value).
    private IEnumerable<TRow> Newest<TRow, TKey>(Func<UsageUpload, IReadOnlyList<TRow>> rows, Func<TRow, TKey> key)
        where TKey : notnull
    {
        var newest = new Dictionary<TKey, TRow>();
        foreach (var entry in _entries.OrderBy(e => e.Sequence))
        {
            foreach (var row in rows(entry))
            {
                newest[key(row)] = row;
            }
        }

        return newest.Values;
    }

    private async Task UploadLoopAsync()
    {
        var failures = 0;
        while (!_stop.IsCancellationRequested)
        {
            UsageUpload? next;
            lock (_lock)
            {
                next = _entries.Where(e => e.Sequence > _acked).OrderBy(e => e.Sequence).FirstOrDefault();
            }

            if (next is null)
            {
                Compact();
                try
                {
                    await _wake.WaitAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            try
            {
                if (await _upload(next, _stop.Token).ConfigureAwait(false))
                {
                    Acknowledge(next.Sequence);
                    failures = 0;
                    continue;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                if (failures == 0)
                {
                    LogUploadFailed(Logger, e.Message, Pending);
                }
            }

            failures++;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(10_000, 250 * (1 << Math.Min(failures, 6)))), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Acknowledge(long sequence)
    {
        lock (_lock)
        {
            _acked = sequence;
            StateFiles.WriteAtomically(Path.Combine(_folder, AckedName), Encoding.ASCII.GetBytes(sequence.ToString(CultureInfo.InvariantCulture)));
        }
    }

    // When everything is acknowledged: the journal becomes one entry holding the newest value of each recent row, under
    // the acknowledged sequence (so it is never sent again), which is all a restart needs to count on from.
    private void Compact()
    {
        lock (_lock)
        {
            if (_entries.Count <= 1 || _entries.Any(e => e.Sequence > _acked))
            {
                return;
            }

            var oldest = DateTimeOffset.UtcNow.Subtract(Horizon).ToUnixTimeSeconds();
            var base_ = new UsageUpload(_acked, Newest().Where(r => r.Bucket >= oldest).ToList(), NewestModels().Where(r => r.Bucket >= oldest).ToList());
            var bytes = Encoding.UTF8.GetBytes(base_.ToJson() + "\n");
            StateFiles.WriteAtomically(Path.Combine(_folder, JournalName), bytes);
            _entries.Clear();
            _entries.Add(base_);
            _bytes = bytes.Length;
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _uploader.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage could not be uploaded to the control plane ({Reason}); {Pending} journal entries wait on disk and are sent when it answers.")]
    private static partial void LogUploadFailed(ILogger logger, string reason, int pending);
}
