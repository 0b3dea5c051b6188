using System.Runtime.Versioning;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Tests.Consumers;

/// <summary>
/// Issue #18's sign-up burst: password hashing is the portal's one expensive step, so it runs in a bulkhead (workers of
/// its own below every other thread on Linux, a bounded queue and wait, the rest refused with 503) and on the
/// framework's PBKDF2 (one native call), not the netstandard build of the same package (one managed HMAC call per
/// round, several times the CPU).
/// </summary>
[Trait("Issue", "18")]
public sealed class PasswordWorkTests
{
    [Fact]
    public void PasswordHashing_UsesTheSharedFrameworkBuild_NotTheNetstandardPackage()
    {
        // A PackageReference to Microsoft.Extensions.Identity.Core 11.x on net10.0 resolved its netstandard2.0 build,
        // whose KeyDerivation runs PBKDF2 round by round in managed code: 100 sign-ups in 25 s then took 94% of the
        // gateway's throughput. The framework (Microsoft.AspNetCore.App) carries both assemblies built for .NET.
        foreach (var type in new[] { typeof(Microsoft.AspNetCore.Identity.PasswordHasher<object>), typeof(Microsoft.AspNetCore.Cryptography.KeyDerivation.KeyDerivation) })
        {
            var framework = type.Assembly.GetCustomAttributes(typeof(TargetFrameworkAttribute), false).OfType<TargetFrameworkAttribute>().Single().FrameworkName;
            Assert.StartsWith(".NETCoreApp", framework, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// Hashing never runs on the caller's thread, which may be a socket event-loop thread (a PostgreSQL store's answer,
    /// completed inline): here a dedicated thread like those. Nor on the thread pool: on Linux the workers are threads of
    /// their own in the SCHED_IDLE class, so that the gateway's threads always go first, and the caller continues on an
    /// ordinary thread, never on the demoted one.
    /// </summary>
    [Fact]
    public async Task Work_RunsOnAPasswordWorker_BelowEveryOtherThread_AndTheCallerContinuesOnAnOrdinaryThread()
    {
        using var work = new PasswordWork();
        (bool Done, (int Thread, bool Pool, int Policy) Ran) result = default;
        var caller = new Thread(() =>
        {
            result = work.RunAsync(() => (Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread, OperatingSystem.IsLinux() ? PasswordWork.CurrentPolicy() : -1), CancellationToken.None).GetAwaiter().GetResult();
        });
        caller.Start();
        Assert.True(caller.Join(TimeSpan.FromSeconds(30)));
        Assert.True(result.Done);
        Assert.False(result.Ran.Pool);
        Assert.NotEqual(caller.ManagedThreadId, result.Ran.Thread);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(work.LowPriority, "this Linux machine lets a thread enter SCHED_IDLE");
            Assert.Equal(5, result.Ran.Policy); // SCHED_IDLE
            var quota = PasswordWork.CpuQuotaApplies("/proc/self/cgroup", "/sys/fs/cgroup");
            Assert.Equal(quota ? Math.Max(1, Environment.ProcessorCount / 2) : Environment.ProcessorCount, work.Workers);
            var after = await Task.Run(async () =>
            {
                await work.RunAsync(() => 0, CancellationToken.None);
                return PasswordWork.CurrentPolicy();
            });
            Assert.Equal(0, after); // SCHED_OTHER: the continuation left the worker
        }
    }

    /// <summary>
    /// Under a CPU quota idle-class work still spends the group's quota (and a spent quota stops the gateway too), so the
    /// workers stay at half the cores there. The quota is read from the process's cgroup or any group above it, in
    /// cgroup v2 (cpu.max) and v1 (cpu.cfs_quota_us), as containers and systemd lay them out.
    /// </summary>
    [Theory]
    [InlineData("0::/", "cpu.max", "max 100000", false)]
    [InlineData("0::/", "cpu.max", "200000 100000", true)]
    [InlineData("0::/kubepods/pod1/abc", "kubepods/pod1/abc/cpu.max", "150000 100000", true)]
    [InlineData("0::/kubepods/pod1/abc", "kubepods/cpu.max", "400000 100000", true)]
    [InlineData("0::/system.slice/gatehouse.service", "system.slice/gatehouse.service/cpu.max", "max 100000", false)]
    [InlineData("0::/docker/abc", "cpu.max", "100000 100000", true)]
    [InlineData("2:cpu,cpuacct:/docker/abc", "cpu/docker/abc/cpu.cfs_quota_us", "-1", false)]
    [InlineData("2:cpu,cpuacct:/docker/abc", "cpu/docker/abc/cpu.cfs_quota_us", "50000", true)]
    [InlineData("2:cpu,cpuacct:/docker/abc", "cpu,cpuacct/cpu.cfs_quota_us", "200000", true)]
    [InlineData("4:memory:/x", "memory/x/cpu.cfs_quota_us", "50000", false)]
    public void ACpuQuota_IsFoundInTheProcessesCgroupOrAbove(string procLine, string file, string content, bool quota)
    {
        var root = Directory.CreateTempSubdirectory("gatehouse-cgroup-").FullName;
        try
        {
            var proc = Path.Combine(root, "proc-self-cgroup");
            File.WriteAllText(proc, "9:name=systemd:/\n" + procLine + "\n");
            var mount = Path.Combine(root, "sys");
            var path = Path.Combine(mount, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, content + "\n");
            Assert.Equal(quota, PasswordWork.CpuQuotaApplies(proc, mount));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void WithoutCgroupFiles_NoQuotaIsAssumed() =>
        Assert.False(PasswordWork.CpuQuotaApplies(Path.Combine(Path.GetTempPath(), "no-such-" + Guid.NewGuid().ToString("N")), "/nonexistent"));

    [Fact]
    public async Task WithoutLowPriority_HalfTheCoresHash_AtTheNormalPriority()
    {
        using var work = new PasswordWork(lowPriority: false);
        Assert.False(work.LowPriority);
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), work.Workers);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal((true, 0), await work.RunAsync(PasswordWork.CurrentPolicy, CancellationToken.None));
        }
    }

    /// <summary>
    /// On a machine the gateway keeps busy the idle class may not run for a long time: a caller is told "busy" after
    /// MaxWait, whether it was still waiting for its turn or for its result, and a hash already running keeps its worker
    /// until it ends (no second one starts beside it).
    /// </summary>
    [Fact]
    public async Task ACallerWaitsAtMostMaxWait_ForItsTurnOrItsResult_AndRunningWorkKeepsItsWorker()
    {
        using var work = new PasswordWork(workers: 1, maxWait: TimeSpan.FromMilliseconds(300));
        using var gate = new ManualResetEventSlim();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (held, _) = await work.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None);
        Assert.False(held);
        Assert.InRange(clock.ElapsedMilliseconds, 250, 10_000);
        Assert.Equal(1, work.Running);

        var ran = false;
        var (queued, _) = await work.RunAsync(() => ran = true, CancellationToken.None);
        Assert.False(queued);
        Assert.False(ran);

        gate.Set();
        await Wait.UntilAsync(() => Task.FromResult(work.Running == 0), "the held work to end and give its worker back");
        Assert.Equal((true, 7), await work.RunAsync(() => 7, CancellationToken.None));
    }

    [Fact]
    public async Task BeyondTheQueue_WorkIsRefused_NotQueued_AndRunsAgainOnceAWorkerIsFree()
    {
        using var work = new PasswordWork(workers: 1, queueLimit: 1);
        using var gate = new ManualResetEventSlim();
        var busy = Task.Run(() => work.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None));
        await Wait.UntilAsync(() => Task.FromResult(IsRunning(work)), "the first work to hold the worker");
        var queued = work.RunAsync(() => 2, CancellationToken.None);
        var (refused, _) = await work.RunAsync(() => 3, CancellationToken.None);

        Assert.False(refused);
        Assert.False(queued.IsCompleted);
        gate.Set();
        Assert.True((await busy).Done);
        Assert.Equal((true, 2), await queued);
        Assert.Equal((true, 4), await work.RunAsync(() => 4, CancellationToken.None));
    }

    [Fact]
    public async Task WhileHashingIsSaturated_SignUpAndLogIn_AnswerBusy_AndNothingIsWrittenOrCounted()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("gatehouse-passwords-").FullName, "store.db");
        await using var store = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System);
        using var work = new PasswordWork(workers: 1, queueLimit: 0);
        var service = new ConsumerService(store, null, _ => Task.FromResult<GatehouseConfig?>(new GatehouseConfig()), TimeProvider.System, work);
        Assert.Null(await service.SignUpAsync("ada@example.com", "Ada", "correct staple horse battery", CancellationToken.None));

        using var gate = new ManualResetEventSlim();
        var holder = Task.Run(() => work.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None));
        await Wait.UntilAsync(() => Task.FromResult(IsRunning(work)), "the worker to be held");

        var problem = await service.SignUpAsync("bob@example.com", "Bob", "a long and unusual passphrase", CancellationToken.None);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, problem?.Status);
        Assert.Null(await store.FindAccountByEmailAsync("bob@example.com"));
        for (var i = 0; i < 20; i++)
        {
            var (account, retryAt, busy) = await service.LogInAsync("ada@example.com", "wrong password entirely", "192.0.2.1", CancellationToken.None);
            Assert.True(busy);
            Assert.Null(account);
            Assert.Null(retryAt);
        }

        gate.Set();
        await holder;
        // Twenty refused attempts were never checked, so none counts against the account: the right password works.
        var (signedIn, _, stillBusy) = await service.LogInAsync("ada@example.com", "correct staple horse battery", "192.0.2.1", CancellationToken.None);
        Assert.False(stillBusy);
        Assert.NotNull(signedIn);
    }

    /// <summary>
    /// The console's passwords are hashed apart, at the normal priority: a sign-up storm that fills the portal's workers
    /// (or a gateway that leaves the idle class no CPU) does not keep an operator out of the console.
    /// </summary>
    [Fact]
    public async Task WhilePortalHashingIsSaturated_AConsolePasswordIsStillSetAndChecked()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("gatehouse-passwords-").FullName, "store.db");
        await using var store = await ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System);
        using var work = new PasswordWork(workers: 1, queueLimit: 0);
        var service = new ConsumerService(store, null, _ => Task.FromResult<GatehouseConfig?>(new GatehouseConfig()), TimeProvider.System, work);
        using var gate = new ManualResetEventSlim();
        var holder = Task.Run(() => work.RunAsync(() => gate.Wait(TimeSpan.FromSeconds(30)), CancellationToken.None));
        await Wait.UntilAsync(() => Task.FromResult(IsRunning(work)), "the portal's worker to be held");

        Assert.False((await service.HashPasswordAsync("a portal pass phrase", CancellationToken.None)).Done);
        var (hashed, hash) = await service.HashPasswordAsync("an operator's pass phrase", CancellationToken.None, console: true);
        Assert.True(hashed);
        var (refused, attempt) = await service.Throttle.TryBeginAsync("ops@example.com", "192.0.2.9", CancellationToken.None);
        Assert.Null(refused);
        Assert.Equal((true, true), await service.CheckConsolePasswordAsync(attempt, hash, "an operator's pass phrase", CancellationToken.None));
        (refused, attempt) = await service.Throttle.TryBeginAsync("ops@example.com", "192.0.2.9", CancellationToken.None);
        Assert.Null(refused);
        Assert.Equal((true, false), await service.CheckConsolePasswordAsync(attempt, hash, "not the pass phrase", CancellationToken.None));

        gate.Set();
        await holder;
    }

    private static bool IsRunning(PasswordWork work) => work.Running > 0;
}
