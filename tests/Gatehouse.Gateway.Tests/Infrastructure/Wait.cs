namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>Bounded waits on conditions (never fixed sleeps).</summary>
internal static class Wait
{
    /// <summary>Polls <paramref name="condition"/> every few milliseconds until it holds; throws after <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            }

            await Task.Delay(5);
        }
    }
}
