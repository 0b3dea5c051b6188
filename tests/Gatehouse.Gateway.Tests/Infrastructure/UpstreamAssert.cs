using System.Net;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>Assertions about what reached a <see cref="RawBackend"/>.</summary>
internal static class UpstreamAssert
{
    /// <summary>
    /// Proves that nothing before it reached <paramref name="backend"/>: sends a harmless canary request
    /// through the gateway with <paramref name="client"/>, waits until the upstream has it, and asserts that it
    /// is the only request the upstream ever received. The canary also shows the route and upstream work,
    /// so "nothing arrived" cannot pass because the setup was broken.
    /// </summary>
    public static async Task OnlyCanaryArrivedAsync(RawBackend backend, HttpClient client, string canaryPath = "/canary")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, canaryPath)
        {
            Version = client.DefaultRequestVersion,
            VersionPolicy = client.DefaultVersionPolicy,
        };
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var heads = backend.RequestHeads;
        var head = Assert.Single(heads);
        Assert.StartsWith($"GET {canaryPath} HTTP/1.1\r\n", head, StringComparison.Ordinal);
        Assert.Equal(head, backend.Received);
    }

    /// <summary>Asserts that every line of <paramref name="head"/> ends in CR LF and holds no other CR, LF or NUL.</summary>
    public static void WellFormedHead(string head)
    {
        Assert.EndsWith("\r\n\r\n", head, StringComparison.Ordinal);
        foreach (var line in head[..^4].Split("\r\n"))
        {
            Assert.False(line.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0, $"A CR, LF or NUL reached the upstream inside the line '{Escape(line)}'.");
        }
    }

    /// <summary>The value of header <paramref name="name"/> in a raw request head (first occurrence, case-insensitive), or null.</summary>
    public static string? HeaderIn(string head, string name) => RawRoundTrip.Header(head, name);

    /// <summary>Shows CR, LF and NUL visibly in assertion messages.</summary>
    public static string Escape(string text) => text.Replace("\r", "\\r").Replace("\n", "\\n").Replace("\0", "\\0");
}
