namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>Bounded waits on conditions that background work will make true (never fixed sleeps).</summary>
internal static class Wait
{
    /// <summary>
    /// How long a wait lasts when the test does not say. Generous: the build machines are shared, and this bounds
    /// only a failing test, never a passing one.
    /// </summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Polls <paramref name="condition"/> every few milliseconds until it holds; throws after <see cref="DefaultTimeout"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, string what) => UntilAsync(condition, DefaultTimeout, what);

    /// <summary>Polls <paramref name="condition"/> every few milliseconds until it holds; throws after <paramref name="timeout"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what);

    /// <summary>Awaits <paramref name="condition"/> (a request, say) until it holds; throws after <see cref="DefaultTimeout"/>.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, string what) => UntilAsync(condition, DefaultTimeout, what);

    /// <summary>Awaits <paramref name="condition"/> until it holds; throws after <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            }

            await Task.Delay(5);
        }
    }
}
