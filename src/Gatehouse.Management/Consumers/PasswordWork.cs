using System.Runtime.InteropServices;
using System.Threading.RateLimiting;

namespace Gatehouse.Management.Consumers;

/// <summary>
/// A bulkhead around password hashing. One PBKDF2 hash or check (<c>PasswordHasher</c>'s 100,000 rounds of
/// HMAC-SHA512) takes 35–100 ms of CPU on a 2-vCPU machine, and the portal usually shares its process and cores with
/// the gateway (<c>--role both</c>), so a burst of sign-ups and sign-ins must not take the cores the gateway forwards on.
/// <list type="bullet">
/// <item>The work runs on threads of its own, which on Linux put themselves in the scheduler's <c>SCHED_IDLE</c> class:
/// they run only on CPU time nothing else wants, and any other thread that wakes (a gateway request, a portal page) takes
/// the core from them at once. Hashing then uses every core the gateway leaves idle (<see cref="Workers"/> is the core
/// count) and none it needs. Where that class cannot be set (another OS, or a sandbox that forbids it), the threads keep
/// the normal priority and <see cref="Workers"/> is half the cores, at least one, as before.</item>
/// <item>At most <see cref="Workers"/> hashes run at once; up to <see cref="QueueLimit"/> more wait their turn, oldest
/// first, and the rest are refused at once ("busy, try again") rather than piled up without bound.</item>
/// <item>A caller waits at most <see cref="MaxWait"/> for its turn and its result; on a machine the gateway keeps busy
/// the idle class may get no CPU for a long time, and a form that answers "busy, try again" in seconds is better than one
/// that hangs. A hash already running goes on (it cannot be stopped part-way) and keeps its worker until it ends.</item>
/// </list>
/// <see cref="ConcurrencyLimiter"/> (the framework's System.Threading.RateLimiting) does the admission and the queue. The
/// threads and the one system call are written here because .NET offers neither: <c>Thread.Priority</c> does nothing
/// for ordinary threads on Linux, and a thread-pool thread must never be demoted, since an unprivileged thread cannot
/// leave <c>SCHED_IDLE</c> again.
/// </summary>
internal sealed partial class PasswordWork : IDisposable
{
    /// <summary>How long a worker thread with nothing to do lives before it ends (a new one starts with the next work).</summary>
    private static readonly TimeSpan IdleExit = TimeSpan.FromSeconds(30);

    private static readonly Lazy<bool> IdleClassAvailable = new(ProbeIdleClass);

    private static readonly Lazy<bool> CpuQuota = new(() => OperatingSystem.IsLinux() && CpuQuotaApplies("/proc/self/cgroup", "/sys/fs/cgroup"));

    private readonly ConcurrencyLimiter _limiter;
    private readonly Queue<IWorkItem> _pending = new();
    private readonly bool _idleClass;
    private int _threads;
    private int _waiting;
    private bool _disposed;

    public PasswordWork(int? workers = null, int queueLimit = 256, TimeSpan? maxWait = null, bool lowPriority = true)
    {
        _idleClass = lowPriority && IdleClassAvailable.Value;
        // Every core only when idle-class work is free: under a CPU quota (a container's CPU limit, systemd's CPUQuota)
        // it spends the group's quota like any other work, and once the quota is spent the whole group, gateway
        // included, waits for the next period. There the workers stay at half the cores, as at the normal priority.
        Workers = workers ?? (_idleClass && !CpuQuota.Value ? Environment.ProcessorCount : Math.Max(1, Environment.ProcessorCount / 2));
        QueueLimit = queueLimit;
        MaxWait = maxWait ?? TimeSpan.FromSeconds(10);
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = Workers,
            QueueLimit = queueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Hashes or checks run at once.</summary>
    public int Workers { get; }

    /// <summary>Hashes or checks that may wait for a worker; beyond them, work is refused.</summary>
    public int QueueLimit { get; }

    /// <summary>The longest a caller waits for its turn and its result before it is told "busy".</summary>
    public TimeSpan MaxWait { get; }

    /// <summary>True when the workers run in Linux's <c>SCHED_IDLE</c> class (below every ordinary thread).</summary>
    public bool LowPriority => _idleClass;

    /// <summary>Hashes or checks running now.</summary>
    public long Running => Workers - (_limiter.GetStatistics()?.CurrentAvailablePermits ?? Workers);

    /// <summary>
    /// Runs <paramref name="work"/> on a password worker when one is free; false (and no result) when too many are
    /// waiting, or when the turn and the result took longer than <see cref="MaxWait"/>.
    /// </summary>
    public async Task<(bool Done, T Result)> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(MaxWait);
        RateLimitLease lease;
        try
        {
            lease = await _limiter.AcquireAsync(1, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, default!);
        }

        if (!lease.IsAcquired)
        {
            lease.Dispose();
            return (false, default!);
        }

        // The worker gives the permit back when the work ends, not when this caller stops waiting for it.
        var item = new WorkItem<T>(work, lease);
        Post(item);
        try
        {
            return (true, await item.Task.WaitAsync(deadline.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, default!);
        }
    }

    public void Dispose()
    {
        lock (_pending)
        {
            _disposed = true;
            Monitor.PulseAll(_pending);
        }

        _limiter.Dispose();
    }

    private void Post(IWorkItem item)
    {
        lock (_pending)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Enqueue(item);
            // A waiting worker takes it, and a new one starts while more is pending than workers wait (a woken worker
            // counts as waiting until it has the lock again). The permits keep the work posted at once to at most
            // Workers, so at most that many threads ever run.
            if (_waiting > 0)
            {
                Monitor.Pulse(_pending);
            }

            if (_pending.Count > _waiting && _threads < Workers)
            {
                _threads++;
                new Thread(Loop) { IsBackground = true, Name = "Gatehouse password worker" }.Start();
            }
        }
    }

    private void Loop()
    {
        if (_idleClass)
        {
            SetIdleClass();
        }

        while (true)
        {
            IWorkItem item;
            lock (_pending)
            {
                while (_pending.Count == 0)
                {
                    if (_disposed)
                    {
                        _threads--;
                        return;
                    }

                    _waiting++;
                    var woken = Monitor.Wait(_pending, IdleExit);
                    _waiting--;
                    if (!woken && _pending.Count == 0)
                    {
                        _threads--;
                        return;
                    }
                }

                item = _pending.Dequeue();
            }

            item.Run();
        }
    }

    private interface IWorkItem
    {
        void Run();
    }

    // The permit is given back before the caller is answered, so that a caller's next work finds it free. Both the
    // caller's continuation and that of the next caller waiting for a permit (the limiter's own queue) run on the thread
    // pool (RunContinuationsAsynchronously, here and in ConcurrencyLimiter), never on this low-priority thread.
    private sealed class WorkItem<T>(Func<T> work, RateLimitLease lease) : TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously), IWorkItem
    {
        public void Run()
        {
            T result;
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                lease.Dispose();
                SetException(e);
                return;
            }

            lease.Dispose();
            SetResult(result);
        }
    }

    // Linux's SCHED_IDLE: below nice 19; a waking ordinary thread always preempts it (sched(7)).
    private const int SchedIdle = 5;

    private static bool SetIdleClass()
    {
        var param = 0; // struct sched_param { int sched_priority; }: 0 for SCHED_IDLE
        return sched_setscheduler(0, SchedIdle, ref param) == 0; // pid 0: the calling thread
    }

    // Whether this process may put a thread in SCHED_IDLE, tried once on a thread that ends right after.
    private static bool ProbeIdleClass()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var ok = false;
        var probe = new Thread(() =>
        {
            try
            {
                ok = SetIdleClass();
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                ok = false;
            }
        }) { IsBackground = true, Name = "Gatehouse password worker probe" };
        probe.Start();
        probe.Join();
        return ok;
    }

    /// <summary>
    /// Whether a cgroup CPU quota caps this process: <c>cpu.max</c> other than <c>max</c> in its cgroup v2 group or any
    /// group above it, or a <c>cpu.cfs_quota_us</c> other than -1 in its cgroup v1 <c>cpu</c> group or above.
    /// <paramref name="procSelfCgroup"/> is <c>/proc/self/cgroup</c>, <paramref name="root"/> where the groups are mounted.
    /// </summary>
    internal static bool CpuQuotaApplies(string procSelfCgroup, string root)
    {
        try
        {
            foreach (var line in File.ReadLines(procSelfCgroup))
            {
                // "hierarchy-id:controllers:path"; cgroup v2 is "0::path".
                var parts = line.Split(':', 3);
                if (parts.Length != 3 || !parts[2].StartsWith('/'))
                {
                    continue;
                }

                if (parts[0] == "0" && parts[1].Length == 0)
                {
                    if (LimitedOnTheWayUp(Path.Combine(root, "unified"), parts[2], "cpu.max", v => !v.StartsWith("max", StringComparison.Ordinal))
                        || LimitedOnTheWayUp(root, parts[2], "cpu.max", v => !v.StartsWith("max", StringComparison.Ordinal)))
                    {
                        return true;
                    }
                }
                else if (parts[1].Split(',').Contains("cpu"))
                {
                    if (LimitedOnTheWayUp(Path.Combine(root, "cpu"), parts[2], "cpu.cfs_quota_us", v => v != "-1")
                        || LimitedOnTheWayUp(Path.Combine(root, parts[1]), parts[2], "cpu.cfs_quota_us", v => v != "-1"))
                    {
                        return true;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No cgroup files to read: nothing says there is a quota.
        }

        return false;
    }

    // The group's file, then its parents' up to the mount; the first one found that says "limited" answers true. Inside a
    // container the process's own group is often the mount itself (a cgroup namespace), or a path under it that does not
    // exist there; walking up covers both.
    private static bool LimitedOnTheWayUp(string mount, string group, string file, Func<string, bool> limited)
    {
        if (!Directory.Exists(mount))
        {
            return false;
        }

        for (var dir = group.TrimEnd('/'); ; dir = dir[..dir.LastIndexOf('/')])
        {
            var path = Path.Join(mount, dir, file);
            if (File.Exists(path) && limited(File.ReadAllText(path).Trim()))
            {
                return true;
            }

            if (dir.Length == 0)
            {
                return false;
            }
        }
    }

    /// <summary>The scheduling policy of the calling thread (Linux; for tests): 5 is <c>SCHED_IDLE</c>, 0 <c>SCHED_OTHER</c>.</summary>
    internal static int CurrentPolicy() => sched_getscheduler(0);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setscheduler(int pid, int policy, ref int param);

    [LibraryImport("libc")]
    private static partial int sched_getscheduler(int pid);
}
