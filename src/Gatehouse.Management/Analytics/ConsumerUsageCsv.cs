using System.Globalization;
using System.Text;

namespace Gatehouse.Management.Analytics;

/// <summary>
/// An application's usage report as CSV (RFC 4180), one row per day, for a consumer's billing or reconciliation sheet.
/// Every field is a date or a number written by this code, so no cell can start a spreadsheet formula. Written by hand:
/// eight numeric columns need no CSV library.
/// </summary>
public static class ConsumerUsageCsv
{
    public const string Header = "day,calls,client_errors,server_errors,p95_ms,model_calls,prompt_tokens,completion_tokens";

    public static string Write(ConsumerUsageReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var csv = new StringBuilder(Header).Append("\r\n");
        foreach (var day in report.Days.OrderBy(d => d.Day))
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{day.Day:yyyy-MM-dd},{day.Calls},{day.ClientErrors},{day.Errors},{(double.IsFinite(day.P95Ms) ? day.P95Ms.ToString("0.###", CultureInfo.InvariantCulture) : "")},{day.ModelCalls},{day.PromptTokens},{day.CompletionTokens}\r\n");
        }

        return csv.ToString();
    }

    /// <summary>The download's file name: <c>APPLICATION-usage-FROM-TO.csv</c>.</summary>
    public static string FileName(string application, DateOnly from, DateOnly to) =>
        string.Create(CultureInfo.InvariantCulture, $"{application}-usage-{from:yyyy-MM-dd}-{to:yyyy-MM-dd}.csv");
}
