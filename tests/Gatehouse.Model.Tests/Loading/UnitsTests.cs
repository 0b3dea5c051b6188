using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Loading;

public sealed class UnitsTests
{
    public static TheoryData<string, TimeSpan> Durations => new()
    {
        { "250ms", TimeSpan.FromMilliseconds(250) },
        { "30s", TimeSpan.FromSeconds(30) },
        { "1.5s", TimeSpan.FromMilliseconds(1500) },
        { "5m", TimeSpan.FromMinutes(5) },
        { "2h", TimeSpan.FromHours(2) },
        { "1d", TimeSpan.FromDays(1) },
        { "45", TimeSpan.FromSeconds(45) },
        { "0.5", TimeSpan.FromMilliseconds(500) },
        { " 10 s ", TimeSpan.FromSeconds(10) },
        { "0s", TimeSpan.Zero },
    };

    [Theory]
    [MemberData(nameof(Durations))]
    public void TryParseDuration_Valid_ParsesToTheRightSpan(string text, TimeSpan expected)
    {
        Assert.True(Units.TryParseDuration(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("-1s")]
    [InlineData("-5")]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("10x")]
    [InlineData("10 seconds")]
    [InlineData("1.2.3s")]
    [InlineData("1e3")]
    [InlineData("5S")]
    [InlineData("1h30m")]
    [InlineData("99999999999999999d")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    public void TryParseDuration_Invalid_IsRejected(string text)
    {
        Assert.False(Units.TryParseDuration(text, out _));
    }

    [Theory]
    [InlineData("1024", 1024L)]
    [InlineData("512B", 512L)]
    [InlineData("64KB", 64L * 1024)]
    [InlineData("64kb", 64L * 1024)]
    [InlineData("64KiB", 64L * 1024)]
    [InlineData("10MB", 10L * 1024 * 1024)]
    [InlineData("10 MiB", 10L * 1024 * 1024)]
    [InlineData("2GB", 2L * 1024 * 1024 * 1024)]
    [InlineData("1GiB", 1L * 1024 * 1024 * 1024)]
    [InlineData("8589934591GB", 8589934591L * 1024 * 1024 * 1024)]
    public void TryParseSize_Valid_ParsesToBytes(string text, long expected)
    {
        Assert.True(Units.TryParseSize(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1.5MB")]
    [InlineData("10TB")]
    [InlineData("ten")]
    [InlineData("")]
    [InlineData("MB")]
    [InlineData("8589934592GB")]
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999999KB")]
    public void TryParseSize_InvalidOrOverflowing_IsRejected(string text)
    {
        Assert.False(Units.TryParseSize(text, out _));
    }

    [Theory]
    [InlineData(500, "500ms")]
    [InlineData(1500, "1500ms")]
    [InlineData(30_000, "30s")]
    [InlineData(300_000, "5m")]
    [InlineData(90_000, "90s")]
    [InlineData(7_200_000, "2h")]
    [InlineData(86_400_000, "1d")]
    public void FormatDuration_PrintsTheLargestWholeUnit(int milliseconds, string expected)
    {
        var span = TimeSpan.FromMilliseconds(milliseconds);

        Assert.Equal(expected, Units.FormatDuration(span));
        Assert.True(Units.TryParseDuration(expected, out var back));
        Assert.Equal(span, back);
    }

    [Theory]
    [InlineData("RoundRobin", "roundRobin")]
    [InlineData("Http1AndHttp2", "http1AndHttp2")]
    [InlineData("", "")]
    public void CamelCase_LowersTheFirstLetter(string pascal, string expected)
    {
        Assert.Equal(expected, Units.CamelCase(pascal));
    }
}
