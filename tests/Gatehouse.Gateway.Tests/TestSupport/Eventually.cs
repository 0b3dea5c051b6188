using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.TestSupport;

/// <summary>
/// <see cref="Wait"/> under the name that tests written before the two support folders were merged still use
/// (branches in flight). New tests use <see cref="Wait.UntilAsync(Func{bool}, string)"/>; delete this once nothing does.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = Wait.DefaultTimeout;

    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        Wait.UntilAsync(condition, timeout ?? Wait.DefaultTimeout, what);
}
