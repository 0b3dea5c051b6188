using System.Diagnostics;
using System.Text.Json;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>One sample of a parsed exposition: the sample's name (with <c>_bucket</c>, <c>_total</c>...), its labels and value.</summary>
internal sealed record PrometheusSample(string Family, string Type, string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// Parses Prometheus text with the Prometheus project's own parser (the Python client's
/// <c>text_string_to_metric_families</c>, Debian's python3-prometheus-client, which test.sh installs); malformed text fails
/// the test with the parser's message.
/// </summary>
internal static class PrometheusParser
{
    private const string Script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        for family in text_string_to_metric_families(sys.stdin.read()):
            for s in family.samples:
                out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
        print(json.dumps(out))
        """;

    public static async Task<IReadOnlyList<PrometheusSample>> ParseAsync(string text)
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), "/usr/bin/python3 is missing; test.sh installs python3-prometheus-client, which the metrics tests parse with.");
        var start = new ProcessStartInfo(python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(text);
        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, "The Prometheus parser refused the text: " + await error);
        using var json = JsonDocument.Parse(await output);
        return [.. json.RootElement.EnumerateArray().Select(e => new PrometheusSample(
            e.GetProperty("family").GetString()!,
            e.GetProperty("type").GetString()!,
            e.GetProperty("name").GetString()!,
            e.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            e.GetProperty("value").GetDouble()))];
    }
}
