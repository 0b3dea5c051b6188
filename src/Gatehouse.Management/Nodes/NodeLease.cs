using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Nodes;

/// <summary>
/// One process's hold on its node id. Usage rows are keyed by node id and written as whole values, so two processes
/// under one id would each replace the other's counts: each process makes a random <see cref="Instance"/> at start, the
/// store's <c>nodes</c> row names the instance that holds the id, and only that one reports and writes usage under it.
/// </summary>
/// <remarks>
/// At start (<see cref="AcquireAsync"/>) an id held by a live process (seen within <see cref="NodeReporter.StaleAfterIntervals"/>
/// heartbeats) is refused, unless that process is known to be gone: on this host and in this process namespace, its pid
/// is free or is a newer process. A holder elsewhere may have crashed a moment ago (a restart in place): the newcomer
/// waits one heartbeat and a third, and takes the id only if the holder did not report meanwhile. An id lost later (the
/// store was away long enough for another process to take it) is <see cref="Lost"/> for the rest of the process.
/// </remarks>
public sealed class NodeLease
{
    private NodeInfo? _holder;

    private NodeLease(string id, string instance, TimeSpan interval, DateTimeOffset startedAt)
    {
        Id = id;
        Instance = instance;
        Interval = interval;
        var info = new JsonObject();
        Describe(info, instance);
        info["version"] = typeof(NodeLease).Assembly.GetName().Version?.ToString();
        info["startedAt"] = startedAt;
        Info = info.ToJsonString();
    }

    /// <summary>What this process reports about itself in its row (<see cref="NodeInfo.Info"/>).</summary>
    public string Info { get; }

    /// <summary>The node id.</summary>
    public string Id { get; }

    /// <summary>This process's random instance id (16 hex digits).</summary>
    public string Instance { get; }

    /// <summary>The heartbeat period: a holder that misses <see cref="NodeReporter.StaleAfterIntervals"/> of them is stale.</summary>
    public TimeSpan Interval { get; }

    /// <summary>The process that holds the id instead of this one, once it is lost; null while this process holds it.</summary>
    public NodeInfo? Holder => Volatile.Read(ref _holder);

    /// <summary>True once another process holds the id: this one reports the clash and writes no usage rows any more.</summary>
    public bool Lost => Holder is not null;

    /// <summary>How long after a holder's last report it still counts as running.</summary>
    public TimeSpan Live => Interval * NodeReporter.StaleAfterIntervals;

    /// <summary>How long a newcomer watches a holder elsewhere for a heartbeat before it takes the id: an interval and a third.</summary>
    public TimeSpan Watch => Interval + Interval / 3;

    /// <summary>A new random instance id.</summary>
    public static string NewInstance() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>A lease on <paramref name="id"/> taken without asking the store (tests, and nodes the store does not list).</summary>
    public static NodeLease Unchecked(string id, TimeSpan? interval = null) => new(id, NewInstance(), interval ?? NodeReporter.DefaultInterval, DateTimeOffset.UtcNow);

    /// <summary>
    /// Takes <paramref name="id"/> in the store for this process, writing its first report (<see cref="Info"/>, serving
    /// <paramref name="revision"/>). Throws <see cref="NodeIdInUseException"/> when another running process holds it.
    /// </summary>
    /// <param name="waiting">Told, in one line, when the start waits to see whether the holder still runs.</param>
    public static async Task<NodeLease> AcquireAsync(IConfigStore store, string id, long revision, TimeSpan? interval = null, TimeProvider? time = null, Action<string>? waiting = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(id);
        time ??= TimeProvider.System;
        var lease = new NodeLease(id, NewInstance(), interval ?? NodeReporter.DefaultInterval, time.GetUtcNow());
        var info = lease.Info;
        var holder = await store.ClaimNodeAsync(id, lease.Instance, revision, info, time.GetUtcNow() - lease.Live, null, cancellationToken).ConfigureAwait(false);
        if (holder is null)
        {
            return lease;
        }

        switch (Whereabouts(holder))
        {
            case Whereabout.RunsHere:
                throw new NodeIdInUseException(InUse(id, holder, time));
            case Whereabout.Unknown:
                // Possibly a node restarted in place after a crash, whose predecessor's row is still fresh: a running
                // holder reports within an interval, a crashed one does not.
                var ago = Math.Max(0, (int)(time.GetUtcNow() - holder.LastSeen).TotalSeconds);
                waiting?.Invoke($"node id {id} was reported {ago} s ago by {Describe(holder)}; waiting {(int)lease.Watch.TotalSeconds} s to see whether it still runs (a node that crashed does not report again)");
                await Task.Delay(lease.Watch, time, cancellationToken).ConfigureAwait(false);
                break;
        }

        var still = await store.ClaimNodeAsync(id, lease.Instance, revision, info, time.GetUtcNow() - lease.Live, holder.LastSeen, cancellationToken).ConfigureAwait(false);
        return still is null ? lease : throw new NodeIdInUseException(InUse(id, still, time));
    }

    /// <summary>The line that says which id is taken, by whom, and what to do.</summary>
    public static string InUse(string id, NodeInfo holder, TimeProvider time)
    {
        var ago = Math.Max(0, (int)(time.GetUtcNow() - holder.LastSeen).TotalSeconds);
        return $"Node id '{id}' is in use by another running gateway node ({Describe(holder)}, last seen {ago} s ago), and two nodes under one id would overwrite each other's usage counts. Give this node an id of its own with --node-id (or stop the other one first).";
    }

    /// <summary>
    /// The usage sink of a node on <paramref name="store"/>: its rollups, written only while this process holds the id
    /// (checked in each write's transaction); null when the store keeps no usage.
    /// </summary>
    public Model.Usage.IUsageSink? UsageSink(IConfigStore store) =>
        store is SqlConfigStore sql ? new LeasedUsageSink(sql, this) : store as Model.Usage.IUsageSink;

    /// <summary>Records that <paramref name="holder"/> holds the id now; true the first time (to say so once).</summary>
    public bool Lose(NodeInfo holder) => Interlocked.CompareExchange(ref _holder, holder, null) is null;

    /// <summary>What this process writes on the holder's row while it runs under the same id (<see cref="NodeInfo.Clash"/>).</summary>
    public string ClashNote(DateTimeOffset at) => new JsonObject
    {
        ["instance"] = Instance,
        ["host"] = Environment.MachineName,
        ["pid"] = Environment.ProcessId,
        ["at"] = at,
    }.ToJsonString();

    /// <summary>This process's own account in a node's info: host, pid and process namespace, which tell a crashed holder on this host from a running one.</summary>
    public static void Describe(JsonObject info, string instance)
    {
        ArgumentNullException.ThrowIfNull(info);
        info["instance"] = instance;
        info["host"] = Environment.MachineName;
        info["pid"] = Environment.ProcessId;
        if (PidNamespace is { } ns)
        {
            info["pidNamespace"] = ns;
        }
    }

    private static string Describe(NodeInfo holder)
    {
        var info = Parse(holder.Info);
        var host = info?["host"] is JsonValue h && h.TryGetValue<string>(out var name) ? name : "an unknown host";
        var pid = info?["pid"] is JsonValue p && p.TryGetValue<int>(out var number) ? $", pid {number.ToString(CultureInfo.InvariantCulture)}" : "";
        return $"host {host}{pid}";
    }

    private enum Whereabout
    {
        Unknown,
        RunsHere,
        GoneFromHere,
    }

    // Only a holder on this host and in this pid namespace can be looked up: containers that share a host name (host
    // networking) each have a pid 1 of their own.
    private static Whereabout Whereabouts(NodeInfo holder)
    {
        var info = Parse(holder.Info);
        if (info?["host"] is not JsonValue h || !h.TryGetValue<string>(out var host) || host != Environment.MachineName
            || info["pidNamespace"] is not JsonValue n || !n.TryGetValue<string>(out var ns) || ns != PidNamespace
            || info["pid"] is not JsonValue p || !p.TryGetValue<int>(out var pid))
        {
            return Whereabout.Unknown;
        }

        if (pid == Environment.ProcessId)
        {
            // This process has the pid now, so the holder's process has ended.
            return Whereabout.GoneFromHere;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            // A pid handed to a newer process after the holder ended.
            var started = info["startedAt"] is JsonValue s && s.TryGetValue<DateTimeOffset>(out var at) ? at : DateTimeOffset.MaxValue;
            return process.HasExited || process.StartTime.ToUniversalTime() > started.UtcDateTime + TimeSpan.FromSeconds(1) ? Whereabout.GoneFromHere : Whereabout.RunsHere;
        }
        catch (ArgumentException)
        {
            return Whereabout.GoneFromHere;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return Whereabout.Unknown;
        }
    }

    private static JsonObject? Parse(string info)
    {
        try
        {
            return JsonNode.Parse(info) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    // Linux: the pid namespace's inode ("pid:[4026531836]"); null elsewhere.
    private static readonly string? PidNamespace = ReadPidNamespace();

    private static string? ReadPidNamespace()
    {
        try
        {
            return OperatingSystem.IsLinux() ? new FileInfo("/proc/self/ns/pid").LinkTarget : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
