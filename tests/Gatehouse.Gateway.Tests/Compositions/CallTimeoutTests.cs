using Gatehouse.Gateway.Composition;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>A step call's pooled timeout (#4): it behaves as a linked source with a timer, and a used one never comes back cancelled.</summary>
public sealed class CallTimeoutTests
{
    [Fact]
    public async Task FiresAfterItsTime()
    {
        var timeout = CallTimeout.Start(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        try
        {
            // A bound against a hang, not a speed target.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(Timeout.Infinite, timeout.Token(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.True(timeout.IsCancellationRequested);
        }
        finally
        {
            timeout.Dispose();
        }
    }

    [Fact]
    public void TheOuterTokenCancelsIt_EvenWhenAlreadyCancelled_AndAfterDisposeNoLonger()
    {
        using var outer = new CancellationTokenSource();
        var timeout = CallTimeout.Start(TimeSpan.FromMinutes(5), outer.Token);
        var token = timeout.Token(outer.Token);
        Assert.NotEqual(outer.Token, token);
        Assert.False(timeout.IsCancellationRequested);
        outer.Cancel();
        Assert.True(token.IsCancellationRequested);
        timeout.Dispose();

        var late = CallTimeout.Start(TimeSpan.FromMinutes(5), outer.Token);
        Assert.True(late.IsCancellationRequested);
        late.Dispose();

        using var other = new CancellationTokenSource();
        var done = CallTimeout.Start(TimeSpan.FromMinutes(5), other.Token);
        var doneToken = done.Token(other.Token);
        done.Dispose();
        other.Cancel();
        Assert.False(doneToken.IsCancellationRequested);
    }

    [Fact]
    public async Task NoTimeoutStartsCancelled_AfterOthersFiredOrWereCancelled()
    {
        for (var round = 0; round < 20; round++)
        {
            var fired = CallTimeout.Start(TimeSpan.FromMilliseconds(1), CancellationToken.None);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(Timeout.Infinite, fired.Token(CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(20)));
            fired.Dispose();

            using (var outer = new CancellationTokenSource())
            {
                var cancelled = CallTimeout.Start(TimeSpan.FromMinutes(5), outer.Token);
                await outer.CancelAsync();
                cancelled.Dispose();
            }

            var fresh = new List<CallTimeout>();
            for (var i = 0; i < 4; i++)
            {
                fresh.Add(CallTimeout.Start(TimeSpan.FromMinutes(5), CancellationToken.None));
            }

            Assert.All(fresh, t => Assert.False(t.IsCancellationRequested));
            fresh.ForEach(t => t.Dispose());
        }
    }

    [Fact]
    public void WithoutATimeout_TheOuterTokenIsTheCallsToken()
    {
        using var outer = new CancellationTokenSource();
        using var none = default(CallTimeout);
        Assert.Equal(outer.Token, none.Token(outer.Token));
        Assert.False(none.IsCancellationRequested);
    }
}
