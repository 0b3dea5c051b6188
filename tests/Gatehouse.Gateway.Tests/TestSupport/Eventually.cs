using System.Diagnostics;

namespace Gatehouse.Gateway.Tests.TestSupport;

/// <summary>Waits for a condition that background work will make true, with a bounded timeout instead of a sleep.</summary>
internal static class Eventually
{
    // Generous: the build machines are shared, and this bounds only a failing test, never a passing one.
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed > limit)
            {
                Assert.Fail($"Timed out after {limit} waiting for: {what}");
            }

            await Task.Delay(10);
        }
    }
}
