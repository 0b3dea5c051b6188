using Gatehouse.Management.Analytics;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>Issue #18: an application's usage as a CSV download, one row a day in day order, numbers only.</summary>
[Trait("Issue", "18")]
public sealed class ConsumerUsageCsvTests
{
    [Fact]
    public void TheReport_IsOneRowADay_InDayOrder_WithAnEmptyP95ForADayWithoutCalls()
    {
        var report = new ConsumerUsageReport("app-x", [
            new ConsumerUsageDay(new DateOnly(2026, 3, 2), 1200, 15, 3, 41.25) { ModelCalls = 7, PromptTokens = 900, CompletionTokens = 350 },
            new ConsumerUsageDay(new DateOnly(2026, 3, 1), 0, 0, 0, double.NaN),
        ], []);
        Assert.Equal(
            "day,calls,client_errors,server_errors,p95_ms,model_calls,prompt_tokens,completion_tokens\r\n" +
            "2026-03-01,0,0,0,,0,0,0\r\n" +
            "2026-03-02,1200,15,3,41.25,7,900,350\r\n",
            ConsumerUsageCsv.Write(report));
        Assert.Equal("app-x-usage-2026-03-01-2026-03-02.csv", ConsumerUsageCsv.FileName("app-x", new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 2)));
    }
}
