using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli;

/// <summary>
/// How the process writes its log: text lines (the default) or, with <c>GATEHOUSE_LOG_FORMAT=json</c>, one JSON object
/// per line (UTC timestamps with the date, level, category, message and the message's fields), for log collectors that
/// read JSON (Fluent Bit, Vector, Loki, Datadog). Every host of the process (gateway, admin API, portal, node API) logs
/// through it. The access log is JSON lines whatever this says (docs/observability.md).
/// </summary>
internal static class LogFormat
{
    public const string Variable = "GATEHOUSE_LOG_FORMAT";

    private static string? Value => Environment.GetEnvironmentVariable(Variable);

    /// <summary>What is wrong with the variable's value, in one line; null when it is unset, <c>text</c> or <c>json</c>.</summary>
    public static string? Problem() => Value is null or "" or "text" or "json"
        ? null
        : $"{Variable} is '{Value}': write text (the default) or json.";

    /// <summary>Replaces a host's text console logger by the JSON one when JSON is asked for; leaves it otherwise.</summary>
    public static void Apply(ILoggingBuilder logging)
    {
        if (Value != "json")
        {
            return;
        }

        logging.ClearProviders();
        logging.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'";
            o.IncludeScopes = false;
            o.JsonWriterOptions = new JsonWriterOptions { Indented = false };
        });
    }
}
