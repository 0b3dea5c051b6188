using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Model.Consumers;
using Gatehouse.Model.Nodes;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// Portal applications and their key hashes on a hybrid data node: followed from the node API
/// (<c>GET /node/v1/consumers?after=N</c>, a long poll that answers as soon as a consumer change is committed), each
/// batch accepted only when signed by the pinned key and continuing from the change this node has, then applied to the
/// gateway and kept on disk. On disk: the last whole set in <c>consumers.json</c> (temp file, fsync, rename) and the
/// batches after it in <c>consumers.log</c> (appended, fsync), both the signed envelopes as received and verified
/// again when read, so a node started while the control plane is away accepts the keys it knew.
/// </summary>
internal sealed partial class ConsumerFeed : IAsyncDisposable
{
    private const string SetName = "consumers.json";
    private const string LogName = "consumers.log";

    // Past this many batches (or bytes of them, when more than the whole set's) the node asks for the whole set again,
    // which replaces both files: the log stays small next to the set.
    private const int MaxLogged = 256;
    private const long MinLogBytes = 1024 * 1024;

    private readonly HttpClient _http;
    private readonly Uri _controlPlane;
    private readonly ECDsa _pinned;
    private readonly string _folder;
    private readonly IConsumerSink _sink;
    private readonly CancellationTokenSource _stop = new();
    private long _seq = -1;
    private long _setBytes;
    private long _logBytes;
    private int _logged;
    private Task _loop = Task.CompletedTask;

    public ConsumerFeed(HttpClient http, Uri controlPlane, ECDsa pinned, string folder, IConsumerSink sink)
    {
        (_http, _controlPlane, _pinned, _folder, _sink) = (http, controlPlane, pinned, folder, sink);
    }

    public ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>The newest consumer change this node has; -1 while it has no set.</summary>
    public long Seq => Interlocked.Read(ref _seq);

    /// <summary>The last batch refused, for the node's report; null when none was.</summary>
    public SnapshotRefusal? Refused { get; private set; }

    /// <summary>Serves the set on disk (the whole set, then each batch after it that verifies and continues it); how many applications, or null when there is none.</summary>
    public int? LoadFromDisk()
    {
        var setFile = Path.Combine(_folder, SetName);
        if (!File.Exists(setFile))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(setFile);
        var (set, refusal) = ConsumerBatch.Verify(bytes, _pinned);
        if (set is not { Full: true })
        {
            LogDiskSkipped(Logger, setFile, refusal?.Detail ?? "it is not a whole set");
            return null;
        }

        var applications = set.Applications.ToDictionary(a => a.Id, StringComparer.Ordinal);
        var seq = set.Seq;
        var logFile = Path.Combine(_folder, LogName);
        if (File.Exists(logFile))
        {
            foreach (var line in File.ReadLines(logFile))
            {
                var (batch, why) = ConsumerBatch.Verify(Encoding.UTF8.GetBytes(line), _pinned);
                if (batch is null || batch.Full)
                {
                    // A line cut short by a crash mid-append, or altered: what follows cannot continue the set.
                    LogDiskSkipped(Logger, logFile, why?.Detail ?? "a whole set in the log");
                    break;
                }

                if (batch.Seq <= seq)
                {
                    continue; // From before the set (a crash between writing the set and emptying the log).
                }

                if (batch.After > seq)
                {
                    break;
                }

                Merge(applications, batch);
                seq = batch.Seq;
                _logged++;
                _logBytes += line.Length + 1;
            }
        }

        _sink.Reset(applications.Values);
        _setBytes = bytes.Length;
        Interlocked.Exchange(ref _seq, seq);
        return applications.Count;
    }

    public void Start() => _loop = Task.Run(LoopAsync);

    private static void Merge(Dictionary<string, ConsumerApplication> applications, ConsumerBatch batch)
    {
        foreach (var application in batch.Applications)
        {
            applications[application.Id] = application;
        }

        foreach (var id in batch.Removed)
        {
            applications.Remove(id);
        }
    }

    // While the control plane cannot be reached, the node keeps the applications it has.
    private Task LoopAsync() => NodeLongPoll.RunAsync(_http, _controlPlane, () =>
    {
        var seq = Seq;
        var whole = seq < 0 || _logged >= MaxLogged || _logBytes > Math.Max(_setBytes, MinLogBytes);
        var path = whole ? "node/v1/consumers" : $"node/v1/consumers?after={seq.ToString(CultureInfo.InvariantCulture)}";
        return (path, envelope => Task.FromResult(Consider(envelope, whole)));
    }, _stop.Token);

    // Verify, then check that it continues what this node has (no older set replayed, no gap), then apply, then keep.
    private bool Consider(byte[] envelope, bool askedWhole)
    {
        var (batch, refusal) = ConsumerBatch.Verify(envelope, _pinned);
        var seq = Seq;
        if (batch is not null)
        {
            if (batch.Full && !askedWhole && batch.Seq < seq)
            {
                // The control plane answers a whole set to 'after' when this node is ahead of its store, or when a
                // deletion it has not seen was pruned from the log (then the set is newer, and taken).
                refusal = new SnapshotRefusal("rollback", $"a whole set at consumer change {batch.Seq}, while this node has change {seq} (is the store older than this node?)");
            }
            else if (batch.Full ? batch.Seq < seq : batch.Seq <= seq)
            {
                refusal = new SnapshotRefusal("rollback", $"consumer change {batch.Seq} is not newer than change {seq}, which this node has");
            }
            else if (!batch.Full && batch.After > seq)
            {
                refusal = new SnapshotRefusal("gap", $"the batch starts after change {batch.After}, this node has change {seq}");
            }
        }

        if (batch is null || refusal is not null)
        {
            Refused = refusal;
            NodeBatchMetrics.Refused(NodeBatchMetrics.Consumers, refusal!.Code);
            LogRefused(Logger, refusal.Code, refusal.Detail);
            return false;
        }

        if (batch.Full)
        {
            _sink.Reset(batch.Applications);
            SaveSet(envelope);
        }
        else
        {
            foreach (var application in batch.Applications)
            {
                _sink.Upsert(application);
            }

            foreach (var id in batch.Removed)
            {
                _sink.Remove(id);
            }

            Append(envelope);
        }

        Interlocked.Exchange(ref _seq, batch.Seq);
        NodeBatchMetrics.Applied(NodeBatchMetrics.Consumers);
        return true;
    }

    private void SaveSet(byte[] envelope)
    {
        Replace(SetName, envelope);
        // The log held batches after the previous set; this set includes them. A crash before this line leaves them,
        // and reading skips them (their changes are not newer than the set's).
        Replace(LogName, []);
        _setBytes = envelope.Length;
        _logBytes = 0;
        _logged = 0;
    }

    private void Replace(string name, byte[] bytes) => StateFiles.WriteAtomically(Path.Combine(_folder, name), bytes);

    private void Append(byte[] envelope)
    {
        // An envelope is compact JSON: one line. Flushed to disk before the batch counts as kept.
        using (var file = StateFiles.OpenAppend(Path.Combine(_folder, LogName), FileShare.None))
        {
            file.Write(envelope);
            file.WriteByte((byte)'\n');
            file.Flush(flushToDisk: true);
        }

        _logBytes += envelope.Length + 1;
        _logged++;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused portal applications from the control plane ({Code}: {Detail}); keeping the ones this node has.")]
    private static partial void LogRefused(ILogger logger, string code, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped portal applications in {File}: {Why}.")]
    private static partial void LogDiskSkipped(ILogger logger, string file, string why);
}
