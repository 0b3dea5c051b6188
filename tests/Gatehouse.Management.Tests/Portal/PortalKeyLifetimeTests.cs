using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// The portal's longest key lifetime (<c>keyLifetimeMax</c>): once an operator sets it, every new or rotated key expires
/// within it, whether made through the form, the API or a rotation of a key that never expired.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalKeyLifetimeTests
{
    private static async Task<JsonNode> SettingsAsync(PortalHarness h, string body)
    {
        using var admin = h.AdminClient();
        using var set = await admin.PutAsync("/admin/portal/settings", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await set.Content.ReadAsStringAsync();
        Assert.True(set.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }

    // When the application's keys expire, from the admin API's listing (null: never), by prefix.
    private static async Task<Dictionary<string, DateTimeOffset?>> ExpiriesAsync(PortalHarness h, string id)
    {
        using var admin = h.AdminClient();
        var listed = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/applications"))!["items"]!.AsArray().Single(a => a!["id"]!.GetValue<string>() == id)!;
        return listed["keys"]!.AsArray().ToDictionary(k => k!["prefix"]!.GetValue<string>(), k => k!["expires"] is JsonValue v ? v.GetValue<DateTimeOffset>() : (DateTimeOffset?)null);
    }

    private static async Task<JsonNode> LastChangeAsync(PortalHarness h)
    {
        using var admin = h.AdminClient();
        return JsonNode.Parse(await admin.GetStringAsync("/admin/portal/changes"))!["items"]![0]!;
    }

    private static void AssertAbout(DateTimeOffset? expires, TimeSpan from)
    {
        Assert.NotNull(expires);
        var expected = DateTimeOffset.UtcNow + from;
        Assert.InRange(expires!.Value, expected - TimeSpan.FromMinutes(2), expected + TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task WithALongestLifetime_EveryNewOrRotatedKeyExpiresWithinIt()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("keys@example.com");
        var (before, oldKey) = await PortalHarness.CreateAppAsync(browser, "retail", "Made before");
        Assert.Null(Assert.Single(await ExpiriesAsync(h, before)).Value);
        Assert.Contains("never (revoke or rotate it yourself)", await browser.PageAsync("/apps/new"), StringComparison.Ordinal);

        var settings = await SettingsAsync(h, """{"keyLifetimeMax":"90d"}""");
        Assert.Equal("90d", settings["keyLifetimeMax"]!.GetValue<string>());
        var logged = await LastChangeAsync(h);
        Assert.Equal(("set", "setting", "portal.keyLifetimeMax", "admin-api"), (logged["action"]!.GetValue<string>(), logged["kind"]!.GetValue<string>(), logged["name"]!.GetValue<string>(), logged["actor"]!.GetValue<string>()));
        Assert.Equal("""{"value":"90d"}""", logged["after"]!.ToJsonString());
        Assert.Null(logged["before"]);

        // Set again to what it is: nothing more is logged.
        await SettingsAsync(h, """{"keyLifetimeMax":"90d"}""");
        Assert.Equal(logged["seq"]!.GetValue<long>(), (await LastChangeAsync(h))["seq"]!.GetValue<long>());

        // The form offers no key that outlives it, and picks the longest it allows.
        var form = await browser.PageAsync("/apps/new");
        Assert.DoesNotContain("never (revoke", form, StringComparison.Ordinal);
        Assert.DoesNotContain("value=\"365d\"", form, StringComparison.Ordinal);
        Assert.Contains("<option value=\"90d\" selected", form, StringComparison.Ordinal);
        Assert.Contains("Keys on this portal expire within 90 days", form, StringComparison.Ordinal);

        // A form sent with a longer one, or none, is refused, and nothing is made.
        foreach (var expires in new[] { "", "365d" })
        {
            using var refused = await browser.SubmitAsync("/apps/new", "/apps/new", ("title", "Too long " + expires), ("plan", "retail"), ("expires", expires));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            Assert.Contains("Keys on this portal must expire within 90 days; choose 30 days or 90 days.", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Single(await h.Store.ListApplicationsAsync((await h.Store.FindAccountByEmailAsync("keys@example.com"))!.Id, null, null, 100));

        // Through the API: left out, the key lives the longest allowed; a longer one is refused.
        using var api = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "deploy"));
        using (var made = await api.PostAsync("/api/v1/applications", new StringContent("""{"title":"Scripted","plan":"retail"}""", Encoding.UTF8, "application/json")))
        {
            var body = JsonNode.Parse(await made.Content.ReadAsStringAsync())!;
            Assert.True(made.StatusCode == HttpStatusCode.Created, body.ToJsonString());
            AssertAbout(body["application"]!["keys"]![0]!["expiresAt"]!.GetValue<DateTimeOffset>(), TimeSpan.FromDays(90));
        }

        using (var refused = await api.PostAsync("/api/v1/applications", new StringContent("""{"title":"Long","plan":"retail","keyExpiresIn":"365d"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        }

        // Rotating the key made before the setting (it never expired): the new one expires within 90 days.
        var oldPrefix = oldKey[..8];
        using (var rotated = await browser.SubmitAsync($"/apps/{before}", $"/apps/{before}/keys/{oldPrefix}/rotate", ("grace", "0s"), ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Created, rotated.StatusCode);
        }

        AssertAbout(Assert.Single(await ExpiriesAsync(h, before)).Value, TimeSpan.FromDays(90));

        // Lifted: keys may never expire again.
        Assert.Null((await SettingsAsync(h, """{"keyLifetimeMax":null}"""))["keyLifetimeMax"]);
        var (after, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Made after");
        Assert.Null(Assert.Single(await ExpiriesAsync(h, after)).Value);
    }

    [Fact]
    public async Task TheConsoleShowsAndSetsIt()
    {
        await using var h = await PortalHarness.StartAsync();
        using var console = await ConsoleTests.ConsoleAsync(h);
        var page = await console.PageAsync("/console/settings");
        Assert.Contains("Now no limit: a consumer may make keys that never expire", page, StringComparison.Ordinal);

        using (var set = await console.PostAsync("/console/settings/key-lifetime", ("lifetime", "30d"), ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.Redirect, set.StatusCode);
        }

        Assert.Contains("Now at most 30 days", await console.PageAsync("/console/settings"), StringComparison.Ordinal);
        var logged = await LastChangeAsync(h);
        Assert.Equal(("set", "portal.keyLifetimeMax"), (logged["action"]!.GetValue<string>(), logged["name"]!.GetValue<string>()));
        Assert.StartsWith("console:", logged["actor"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("30d", await h.Admin.ConsumerService.KeyLifetimeMaxAsync(CancellationToken.None));
        using (var bad = await console.PostAsync("/console/settings/key-lifetime", ("lifetime", "7d"), ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        }

        Assert.Equal("30d", await h.Admin.ConsumerService.KeyLifetimeMaxAsync(CancellationToken.None));
    }
}
