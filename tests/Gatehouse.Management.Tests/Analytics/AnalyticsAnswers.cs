using System.Text.Json.Nodes;
using Gatehouse.Management.Tests.Admin;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>Reading the analytics API's answers in tests.</summary>
internal static class AnalyticsAnswers
{
    /// <summary>GETs <paramref name="path"/> from the admin API; fails the test unless it succeeds.</summary>
    public static async Task<JsonObject> GetAsync(AdminHarness admin, string path)
    {
        using var response = await admin.Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Each series' total count by its group values joined with '|'.</summary>
    public static Dictionary<string, long> Series(JsonObject result) =>
        result["series"]!.AsArray().ToDictionary(
            s => string.Join('|', s!["group"]!.AsObject().Select(g => (string)g.Value!)),
            s => (long)s!["total"]!["count"]!);
}
