using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary><c>GATEHOUSE_LOG_FORMAT=json</c>: the process logs one JSON object per line; a value it does not know is one plain line and exit 2.</summary>
public sealed class LogFormatTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-logformat-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Json_EveryLogLineIsAJsonObject_WithAUtcTimestamp_Level_Category_AndMessage()
    {
        var config = Path.Combine(_folder, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, """
            version: 1
            gateway: { listeners: [{ url: "http://127.0.0.1:0" }] }
            """);
        await using var gatehouse = GatehouseProcess.Start(new Dictionary<string, string> { ["GATEHOUSE_LOG_FORMAT"] = "json" },
            ["run", "--config", config, "--admin-url", "http://127.0.0.1:0"]);
        await gatehouse.WaitForOutputAsync(new Regex("listening on http://"), TimeSpan.FromSeconds(60));

        // A change the gateway refuses is an error in the log.
        await File.WriteAllTextAsync(config, "version: 1\nroutes: { r: { path: /x, service: missing } }\n");
        await gatehouse.WaitForOutputAsync(new Regex("changed but is not valid"), TimeSpan.FromSeconds(30));

        var lines = gatehouse.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{')).ToList();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var entry = JsonDocument.Parse(line);
            var root = entry.RootElement;
            Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", root.GetProperty("Timestamp").GetString());
            Assert.False(string.IsNullOrEmpty(root.GetProperty("Category").GetString()));
            Assert.False(string.IsNullOrEmpty(root.GetProperty("Message").GetString()));
        }

        var refused = lines.Select(l => JsonDocument.Parse(l).RootElement).Single(e => e.GetProperty("Message").GetString()!.Contains("changed but is not valid", StringComparison.Ordinal));
        Assert.Equal("Error", refused.GetProperty("LogLevel").GetString());
        Assert.Equal(config, refused.GetProperty("State").GetProperty("Path").GetString());
        var live = lines.Select(l => JsonDocument.Parse(l).RootElement).First(e => e.GetProperty("Category").GetString() == "Gatehouse.Runtime");
        Assert.Equal(1, live.GetProperty("State").GetProperty("Revision").GetInt32());
        // No text log line beside them: only the start-up's own lines (not logs) are plain text.
        Assert.DoesNotContain(gatehouse.StandardOutput.Split('\n'), l => Regex.IsMatch(l, @"^\d{2}:\d{2}:\d{2} (info|warn|fail)"));
    }

    /// <summary>
    /// Levels still filter when the log is JSON: with <c>Logging__LogLevel__Gatehouse=Warning</c> (the setting
    /// docs/observability.md gives) the start's information lines ("Revision 1 is live") are not written, and a warning (an
    /// upstream that refuses the connection) is, as a JSON line whose LogLevel says so.
    /// </summary>
    [Fact]
    public async Task Json_LevelsFromConfigurationStillFilter_AWarningIsWritten_InformationIsNot()
    {
        var config = Path.Combine(_folder, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, """
            version: 1
            gateway: { listeners: [{ url: "http://127.0.0.1:0" }] }
            services: { closed: { targets: ["http://127.0.0.1:9"] } }
            routes: { closed: { path: /closed, service: closed } }
            """);
        await using var gatehouse = GatehouseProcess.Start(
            new Dictionary<string, string> { ["GATEHOUSE_LOG_FORMAT"] = "json", ["Logging__LogLevel__Gatehouse"] = "Warning" },
            ["run", "--config", config, "--admin-url", "http://127.0.0.1:0"]);
        var url = await gatehouse.WaitForOutputAsync(new Regex(@"listening on (http://127\.0\.0\.1:\d+)"), TimeSpan.FromSeconds(60));
        using (var client = new HttpClient())
        using (var response = await client.GetAsync(url + "/closed"))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadGateway, response.StatusCode);
        }

        // The console logger writes in the order things are logged: the start's lines, had they passed, come before this one.
        await gatehouse.WaitForOutputAsync(new Regex("(upstream http://127\\.0\\.0\\.1:9 unreachable)"), TimeSpan.FromSeconds(30));
        var entries = gatehouse.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var warning = entries.First(e => e.GetProperty("Message").GetString()!.Contains("unreachable", StringComparison.Ordinal));
        Assert.Equal("Warning", warning.GetProperty("LogLevel").GetString());
        Assert.Equal("closed", warning.GetProperty("State").GetProperty("Route").GetString());
        Assert.All(entries, e => Assert.Contains(e.GetProperty("LogLevel").GetString(), new[] { "Warning", "Error", "Critical" }));
        Assert.DoesNotContain("is live", gatehouse.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownFormat_IsOnePlainLine_AndExit2()
    {
        var (code, _, stderr) = await GatehouseProcess.RunAsync(new Dictionary<string, string> { ["GATEHOUSE_LOG_FORMAT"] = "xml" }, "run", "--config", "gatehouse.yaml");
        Assert.Equal(2, code);
        Assert.Equal("GATEHOUSE_LOG_FORMAT is 'xml': write text (the default) or json.", stderr.Trim());
    }
}
