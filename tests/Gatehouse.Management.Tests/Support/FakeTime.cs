using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Management.Tests.Support;

/// <summary>The package's manual clock, started at 2026-01-01 12:00 UTC unless told otherwise (the name the tests use).</summary>
public sealed class FakeTime(DateTimeOffset? start = null) : FakeTimeProvider(start ?? new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
