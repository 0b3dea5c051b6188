namespace Gatehouse.Management.Tests.Support;

/// <summary>A clock that moves only when told (Microsoft.Extensions.TimeProvider.Testing is not in the package source).</summary>
public sealed class FakeTime(DateTimeOffset? start = null) : TimeProvider
{
    private DateTimeOffset _now = start ?? new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
