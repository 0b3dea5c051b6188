using System.Runtime.Versioning;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Tests.Consumers;

/// <summary>
/// Issue #18's sign-up burst: password hashing is the portal's one expensive step, so it runs in a bulkhead (at most
/// a share of the cores, a bounded queue, the rest refused with 503) and on the framework's PBKDF2 (one native call),
/// not the netstandard build of the same package (one managed HMAC call per round, several times the CPU).
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
    /// completed inline): here a dedicated thread like those, and the work runs on the thread pool instead.
    /// </summary>
    [Fact]
    public void Work_RunsOnTheThreadPool_NotOnTheCallersThread()
    {
        using var work = new PasswordWork(workers: 1);
        (bool Done, (int Thread, bool Pool) Ran) result = default;
        var caller = new Thread(() => result = work.RunAsync(() => (Environment.CurrentManagedThreadId, Thread.CurrentThread.IsThreadPoolThread), CancellationToken.None).GetAwaiter().GetResult());
        caller.Start();
        Assert.True(caller.Join(TimeSpan.FromSeconds(30)));
        Assert.True(result.Done);
        Assert.True(result.Ran.Pool);
        Assert.NotEqual(caller.ManagedThreadId, result.Ran.Thread);
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

    private static bool IsRunning(PasswordWork work) => work.Running > 0;
}
