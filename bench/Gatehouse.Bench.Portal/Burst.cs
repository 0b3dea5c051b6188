using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace Gatehouse.Bench.Portal;

/// <summary>One consumer through the portal's forms, as a browser without JavaScript sends them.</summary>
internal static partial class Burst
{
    private const string Password = "bench consumer pass phrase";

    /// <summary>Signs up, signs in, creates a retail application; returns the ms from the creating answer to the key's first 200 at the gateway.</summary>
    public static async Task<double> SignUpAsync(Harness harness, int n, CancellationToken cancellationToken)
    {
        using var portal = Client(harness.PortalUrl);
        var email = $"bench-{n}-{Guid.NewGuid():N}@example.com";
        await SubmitAsync(portal, "/signup", "/signup", cancellationToken, ("email", email), ("title", "Bench " + n), ("password", Password));
        await SubmitAsync(portal, "/login", "/login", cancellationToken, ("email", email), ("password", Password));
        var html = await SubmitAsync(portal, "/apps/new", "/apps/new", cancellationToken, ("title", "App " + n), ("plan", "retail"));
        var key = KeyPattern().Match(html).Groups[1].Value;
        if (key.Length == 0)
        {
            throw new InvalidOperationException("no key on the page");
        }

        var made = Stopwatch.StartNew();
        using var gateway = Client(harness.GatewayUrl);
        gateway.DefaultRequestHeaders.Add("X-Api-Key", key);
        while (true)
        {
            using var response = await gateway.GetAsync("/users/1", cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return made.Elapsed.TotalMilliseconds;
            }

            await Task.Delay(5, cancellationToken);
        }
    }

    /// <summary>Sequential GETs of the main pages as a signed-in consumer with one application.</summary>
    public static async Task<Dictionary<string, List<double>>> PageTimesAsync(Harness harness, int repeats)
    {
        using var portal = Client(harness.PortalUrl);
        var email = $"pages-{Guid.NewGuid():N}@example.com";
        await SubmitAsync(portal, "/signup", "/signup", CancellationToken.None, ("email", email), ("title", "Pages"), ("password", Password));
        await SubmitAsync(portal, "/login", "/login", CancellationToken.None, ("email", email), ("password", Password));
        var created = await SubmitAsync(portal, "/apps/new", "/apps/new", CancellationToken.None, ("title", "Pages app"), ("plan", "retail"));
        var id = AppPattern().Match(created).Groups[1].Value;
        var times = new Dictionary<string, List<double>>();
        foreach (var path in new[] { "/", "/plans/retail", "/plans/retail/openapi.json", "/apps", $"/apps/{id}", "/signup" })
        {
            var list = times[path.Replace(id, "{id}", StringComparison.Ordinal)] = [];
            for (var i = 0; i < repeats + 10; i++)
            {
                var clock = Stopwatch.StartNew();
                using var response = await portal.GetAsync(path);
                await response.Content.ReadAsByteArrayAsync();
                if (i >= 10)
                {
                    list.Add(clock.Elapsed.TotalMilliseconds);
                }
            }
        }

        return times;
    }

    internal static HttpClient Client(string url) =>
        new(new SocketsHttpHandler { UseProxy = false, CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };

    internal static async Task<string> SubmitAsync(HttpClient client, string page, string action, CancellationToken cancellationToken, params (string Name, string Value)[] fields)
    {
        var form = await client.GetStringAsync(page, cancellationToken);
        var token = TokenPattern().Match(form).Groups[1].Value;
        using var response = await client.PostAsync(action, new FormUrlEncodedContent([.. fields.Select(f => KeyValuePair.Create(f.Name, f.Value)), KeyValuePair.Create("__RequestVerificationToken", token)]), cancellationToken);
        if ((int)response.StatusCode >= 400)
        {
            throw new InvalidOperationException($"POST {action}: {(int)response.StatusCode}");
        }

        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("data-new-key=\"(ghk_[A-Za-z0-9_-]+)\"")]
    private static partial Regex KeyPattern();

    [GeneratedRegex("href=\"/apps/(app-[a-z2-7]+)\"")]
    private static partial Regex AppPattern();
}
