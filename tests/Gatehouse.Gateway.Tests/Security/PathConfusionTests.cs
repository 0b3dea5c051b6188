using System.Text.Json;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Security;

/// <summary>
/// Path confusion: a request whose route is <c>public</c> must never reach an upstream as an <c>/admin</c>
/// path, and the path an upstream sees (decoded once) must be the one the route decision was made on.
/// Routes: <c>public: /public/{**rest} → pub, upstreamPath /public/{**rest}</c> and <c>admin: /admin/{**rest} → adm</c>,
/// two echo backends. Kestrel decodes the path (except <c>%2F</c>) and removes dot segments before the gateway
/// sees it; <c>PathSafety</c> rejects what upstreams read differently; the matcher ignores empty segments and
/// matches literals case-insensitively; <c>UpstreamPathTemplate</c> re-encodes every captured segment.
/// <list type="table">
/// <listheader><term>request target</term><description>what happens (routed on → upstream raw target)</description></listheader>
/// <item><term><c>/public/%252e%252e/admin</c></term><description>public; /public/%2e%2e/admin → <c>/public/%252e%252e/admin</c> (decodes once to the routed path; only an upstream that decodes twice could see "..")</description></item>
/// <item><term><c>/public/%2e%2e/admin</c>, <c>/public/%2E%2E/admin</c>, <c>/public/.%2e/admin</c></term><description>admin: Kestrel decodes then removes the dot segment; /admin → <c>/admin</c></description></item>
/// <item><term><c>/public/./../admin</c>, <c>/public;/../admin</c>, <c>/%2e%2e/admin</c></term><description>admin; /admin → <c>/admin</c></description></item>
/// <item><term><c>/public/..%2fadmin</c>, <c>/public/%2e%2e%2fadmin</c>, <c>/public/x/..%2F..%2Fadmin</c></term><description>400 problem+json <c>ambiguous-path</c> (encoded slash)</description></item>
/// <item><term><c>/public/%5c..%5cadmin</c>, <c>/public\..\admin</c>, <c>/public/..%5cadmin</c></term><description>400 problem+json <c>ambiguous-path</c> (backslash, raw or encoded)</description></item>
/// <item><term><c>/public/..%00/admin</c>, <c>/public/a b</c>, <c>/public/caf\xE9</c> (raw byte)</term><description>400 from Kestrel (empty body), before the gateway</description></item>
/// <item><term><c>/public/..;/admin</c></term><description>public; /public/..;/admin → <c>/public/..%3B/admin</c> (';' is encoded, so a servlet container cannot strip "..;")</description></item>
/// <item><term><c>/public/..%252fadmin</c></term><description>public; /public/..%2fadmin → <c>/public/..%252fadmin</c> (one segment upstream)</description></item>
/// <item><term><c>/public/%c0%ae%c0%ae/admin</c> (overlong UTF-8 dots)</term><description>public; Kestrel leaves invalid UTF-8 encoded → <c>/public/%25c0%25ae%25c0%25ae/admin</c></description></item>
/// <item><term><c>/public/%ef%bc%8f..%ef%bc%8fadmin</c> (fullwidth solidus)</term><description>public; one segment → <c>/public/%EF%BC%8F..%EF%BC%8Fadmin</c></description></item>
/// <item><term><c>/public/x#/../admin</c></term><description>public: Kestrel keeps '#' in the path and removes "x#/.."; /public/admin → <c>/public/admin</c></description></item>
/// <item><term><c>/public/admin?/../../admin</c></term><description>public; the query is not part of the path → <c>/public/admin?/../../admin</c></description></item>
/// <item><term><c>/public/...</c>, <c>/public/%20..%20/admin</c></term><description>public; not dot segments → <c>/public/...</c>, <c>/public/%20..%20/admin</c></description></item>
/// <item><term><c>//admin</c></term><description>admin; empty segments are insignificant; /admin → <c>/admin</c></description></item>
/// <item><term><c>/admin/.</c>, <c>/admin/</c></term><description>admin; a trailing slash does not change the route, and is kept → <c>/admin/</c></description></item>
/// <item><term><c>/ADMIN</c></term><description>admin: literals match case-insensitively, and the upstream gets the template's spelling → <c>/admin</c></description></item>
/// <item><term><c>/admin;x=1</c></term><description>404 problem+json: "admin;x=1" is not the literal "admin"</description></item>
/// <item><term><c>/public/..</c></term><description>404 problem+json: Kestrel resolves it to "/"</description></item>
/// <item><term><c>http://x/public/%2e%2e/admin</c> (absolute form)</term><description>admin: Kestrel takes System.Uri's path; /admin → <c>/admin</c></description></item>
/// <item><term><c>http://x/public/..%2fadmin</c> (absolute form)</term><description>400 problem+json <c>ambiguous-path</c>: the raw target is checked, not Uri's decoded path</description></item>
/// </list>
/// </summary>
public sealed class PathConfusionTests
{
    private static string Yaml(string pub, string adm) => $$$"""
        version: 1
        services:
          pub:
            targets: [{{{pub}}}]
          adm:
            targets: [{{{adm}}}]
        routes:
          public:
            path: /public/{**rest}
            service: pub
            upstreamPath: /public/{**rest}
          admin:
            path: /admin/{**rest}
            service: adm
        """;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Theory]
    [InlineData("/public/%252e%252e/admin", 200, "public", "/public/%252e%252e/admin")]
    [InlineData("/public/%2e%2e/admin", 200, "admin", "/admin")]
    [InlineData("/public/%2E%2E/admin", 200, "admin", "/admin")]
    [InlineData("/public/.%2e/admin", 200, "admin", "/admin")]
    [InlineData("/public/./../admin", 200, "admin", "/admin")]
    [InlineData("/public;/../admin", 200, "admin", "/admin")]
    [InlineData("/%2e%2e/admin", 200, "admin", "/admin")]
    [InlineData("/public/..%2fadmin", 400, null, null)]
    [InlineData("/public/%2e%2e%2fadmin", 400, null, null)]
    [InlineData("/public/x/..%2F..%2Fadmin", 400, null, null)]
    [InlineData("/public/%5c..%5cadmin", 400, null, null)]
    [InlineData("/public\\..\\admin", 400, null, null)]
    [InlineData("/public/..%5cadmin", 400, null, null)]
    [InlineData("/public/..;/admin", 200, "public", "/public/..%3B/admin")]
    [InlineData("/public/..%252fadmin", 200, "public", "/public/..%252fadmin")]
    [InlineData("/public/%c0%ae%c0%ae/admin", 200, "public", "/public/%25c0%25ae%25c0%25ae/admin")]
    [InlineData("/public/%ef%bc%8f..%ef%bc%8fadmin", 200, "public", "/public/%EF%BC%8F..%EF%BC%8Fadmin")]
    [InlineData("/public/x#/../admin", 200, "public", "/public/admin")]
    [InlineData("/public/admin?/../../admin", 200, "public", "/public/admin?/../../admin")]
    [InlineData("/public/...", 200, "public", "/public/...")]
    [InlineData("/public/%20..%20/admin", 200, "public", "/public/%20..%20/admin")]
    [InlineData("//admin", 200, "admin", "/admin")]
    [InlineData("/admin/.", 200, "admin", "/admin/")]
    [InlineData("/admin/", 200, "admin", "/admin/")]
    [InlineData("/ADMIN", 200, "admin", "/admin")]
    [InlineData("/admin;x=1", 404, null, null)]
    [InlineData("/public/..", 404, null, null)]
    [InlineData("http://x/public/%2e%2e/admin", 200, "admin", "/admin")]
    [InlineData("http://x/public/..%2fadmin", 400, null, null)]
    public async Task Path_RouteDecisionAndUpstreamPath_Agree(string target, int status, string? route, string? upstreamTarget)
    {
        await using var pub = await TestBackend.StartEchoAsync();
        await using var adm = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(pub.Url, adm.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        Assert.Equal(status, response.StatusCode);
        if (status != 200)
        {
            AssertProblem(response, status);
            return;
        }

        var echo = JsonSerializer.Deserialize<EchoResponse>(response.Body, Json)!;
        Assert.Equal(upstreamTarget, echo.RawTarget);
        Assert.Equal(route, ServedBy(echo, pub, adm));
        AssertConsistent(gateway, echo, route!);
    }

    [Theory]
    [InlineData("/public/a%00")]
    [InlineData("/public/..%00/admin")]
    [InlineData("/public/a b")]
    [InlineData("/public/caf\u00e9")]
    public async Task Path_KestrelRejectsBeforeTheGateway_400_NothingForwarded(string target)
    {
        await using var raw = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(raw.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        Assert.Equal(400, response.StatusCode);
        Assert.Null(response.Header("Content-Type")); // Kestrel's own answer: the gateway never saw the request
        await UpstreamAssert.OnlyCanaryArrivedAsync(raw, gateway.Client);
    }

    /// <summary>
    /// Every combination of a prefix, a confusing middle and a suffix: whatever the gateway decides, a request it
    /// routes to <c>public</c> stays under <c>/public</c> upstream (even for an upstream that resolves dot segments
    /// after decoding), re-routing the upstream's decoded path gives the same route, and refusals are problem+json
    /// or Kestrel's own 400.
    /// </summary>
    [Fact]
    public async Task Path_Combinations_PublicNeverReachesAdmin()
    {
        await using var pub = await TestBackend.StartEchoAsync();
        await using var adm = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(pub.Url, adm.Url));

        string[] prefixes = ["/public", "/PUBLIC", "//public", "/public;x", "/public/x"];
        string[] middles = [".", "..", "%2e", "%2e%2e", ".%2e", "%2E.", "%252e%252e", "%25%32%65%25%32%65", "..;", "%2e%2e;", ";", "%3b", "%2f", "%2F", "%5c", "%5C",
            "%u002e%u002e", "%c0%ae%c0%ae", "%e2%80%a4%e2%80%a4", "%ef%bc%8e%ef%bc%8e", "%ef%bc%8f", "", "%20..", "..%20", "...", "..%09", "%2e%2e%3f", "%23..", "..%23"];
        string[] suffixes = ["/admin", "admin", "/ADMIN", "/admin/x", "/../admin", "/%2e%2e/admin"];
        var decisions = new Dictionary<string, int>();
        foreach (var prefix in prefixes)
        {
            foreach (var middle in middles)
            {
                foreach (var suffix in suffixes)
                {
                    var target = $"{prefix}/{middle}{suffix}";
                    var response = await RawClient.SendAsync(gateway.Port, $"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                    var key = response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (response.StatusCode == 200)
                    {
                        var echo = JsonSerializer.Deserialize<EchoResponse>(response.Body, Json)!;
                        var route = ServedBy(echo, pub, adm);
                        key = route;
                        AssertConsistent(gateway, echo, route, target);
                    }
                    else if (response.StatusCode is 404 || response.Header("Content-Type") is not null)
                    {
                        AssertProblem(response, response.StatusCode);
                    }
                    else
                    {
                        Assert.True(response.StatusCode == 400, $"{target}: unexpected {response.StatusLine}");
                    }

                    decisions[key] = decisions.GetValueOrDefault(key) + 1;
                }
            }
        }

        // The combinations exercise every outcome, so none of the checks above was vacuous.
        Assert.True(decisions.GetValueOrDefault("public") > 0, "no combination was routed to public");
        Assert.True(decisions.GetValueOrDefault("admin") > 0, "no combination was routed to admin");
        Assert.True(decisions.GetValueOrDefault("400") > 0, "no combination was rejected");
    }

    /// <summary>Which route's backend answered: the gateway sends the destination's authority as Host.</summary>
    private static string ServedBy(EchoResponse echo, TestBackend pub, TestBackend adm)
    {
        var host = echo.Header("Host");
        return host == $"127.0.0.1:{pub.Port}" ? "public" : host == $"127.0.0.1:{adm.Port}" ? "admin" : $"unknown host {host}";
    }

    /// <summary>
    /// (a) The upstream's path, decoded once, routes to the same route that served it; (b) for <c>public</c> it stays
    /// under <c>/public</c> even after dot segments are resolved, so no upstream reads it as an /admin path.
    /// </summary>
    private static void AssertConsistent(TestGateway gateway, EchoResponse echo, string route, string? target = null)
    {
        var rawPath = echo.RawTarget.Split('?')[0];
        var decoded = Uri.UnescapeDataString(rawPath);
        var captures = default(RouteCaptures);
        var allowed = default(AllowedMethods);
        var outcome = gateway.Host.Runtime.Current.Routes.Match("GET", "x", decoded, out var rerouted, ref captures, ref allowed);
        Assert.True(outcome == MatchOutcome.Matched && rerouted!.Id == route,
            $"{target}: served by {route} with upstream path {echo.RawTarget}, but its decoded form {decoded} routes to {rerouted?.Id ?? outcome.ToString()}");

        // What the gateway sent was fully encoded by it: decoding once more changes nothing structural.
        Assert.DoesNotContain("/../", decoded + "/", StringComparison.Ordinal);
        Assert.DoesNotContain("/./", decoded + "/", StringComparison.Ordinal);
        Assert.DoesNotContain('\\', decoded);
        if (route == "public")
        {
            var resolved = RemoveDotSegments(decoded);
            Assert.True(resolved.StartsWith("/public/", StringComparison.Ordinal) || resolved == "/public",
                $"{target}: routed to public, but the upstream path {echo.RawTarget} resolves to {resolved}");
        }
        else
        {
            Assert.True(decoded.StartsWith("/admin", StringComparison.Ordinal), $"{target}: routed to admin with upstream path {echo.RawTarget}");
        }
    }

    private static void AssertProblem(RawResponse response, int status)
    {
        Assert.Equal("application/problem+json", response.Header("Content-Type"));
        var problem = JsonDocument.Parse(response.Body).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.StartsWith("urn:gatehouse:problem:", problem.GetProperty("type").GetString(), StringComparison.Ordinal);
    }

    /// <summary>RFC 3986 §5.2.4 remove_dot_segments, as an upstream that normalises paths would apply it.</summary>
    private static string RemoveDotSegments(string path)
    {
        var output = new List<string>();
        foreach (var segment in path.Split('/').Skip(1))
        {
            if (segment == "..")
            {
                if (output.Count > 0)
                {
                    output.RemoveAt(output.Count - 1);
                }
            }
            else if (segment != ".")
            {
                output.Add(segment);
            }
        }

        return "/" + string.Join('/', output);
    }
}
