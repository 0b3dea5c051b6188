namespace Gatehouse.Gateway.Resilience;

/// <summary>Why an attempt is retried: the <c>retryOn</c> conditions, the <c>reason</c> tag of the retry metrics, and the log's words.</summary>
internal static class RetryReasons
{
    /// <summary>No connection could be made: nothing reached the upstream.</summary>
    public const string ConnectFailure = "connect-failure";

    /// <summary>The connection broke before response headers arrived.</summary>
    public const string Reset = "reset";

    /// <summary>No response headers within the per-try timeout.</summary>
    public const string Timeout = "timeout";

    private static readonly string[] Statuses = [.. Enumerable.Range(400, 200).Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>The status code as text, without allocating.</summary>
    public static string Status(int status) => status is >= 400 and <= 599 ? Statuses[status - 400] : status.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
