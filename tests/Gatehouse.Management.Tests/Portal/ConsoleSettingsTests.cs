using System.Net;
using System.Text.Json.Nodes;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: the console's Settings page shows every portal setting the admin API's <c>/admin/portal/settings</c> has,
/// with its value now and its default, and sets the whole-number ones with a plain form (no script); a refused value
/// comes back in its field with the reason beside it, and a change is in the consumer change log as the API's is.
/// </summary>
[Trait("Issue", "18")]
public sealed class ConsoleSettingsTests
{
    [Fact]
    public async Task TheSettingsPage_SetsTryItPerMinute_KeepsARefusedValueInItsField_AndLogsTheChange()
    {
        await using var h = await PortalHarness.StartAsync();
        using var console = await ConsoleTests.ConsoleAsync(h);
        var page = await console.PageAsync("/console/settings");
        Assert.Contains("<h2 id=\"try-it-per-minute\">Try-it calls an account may send a minute</h2>", page, StringComparison.Ordinal);
        Assert.Contains("Now 60 (default 60).", page, StringComparison.Ordinal);
        Assert.Contains("name=\"perMinute\" type=\"number\" min=\"1\" max=\"10000\" required value=\"60\"", page, StringComparison.Ordinal);
        // Each switch with its default beside its value: apiTokens is on unless turned off, accountApproval off unless turned on.
        Assert.Contains("<td>apiTokens</td><td>on</td><td>on</td>", page, StringComparison.Ordinal);
        Assert.Contains("<td>accountApproval</td><td>off</td><td>off</td>", page, StringComparison.Ordinal);
        Assert.Contains("(default no limit)", page, StringComparison.Ordinal);

        foreach (var bad in new[] { "0", "10001", "1.5", "12 000", "lots", "" })
        {
            using var refused = await console.PostAsync("/console/settings/try-it-per-minute", ("perMinute", bad), ("__RequestVerificationToken", Browser.TokenOf(page)));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            var answer = await refused.Content.ReadAsStringAsync();
            // The settings page itself, not an error page: the reason in words beside the field, what was typed still in it.
            Assert.Contains("<h2 id=\"try-it-per-minute\">", answer, StringComparison.Ordinal);
            Assert.Contains($"Not set: &quot;{WebUtility.HtmlEncode(bad.Trim())}&quot; is not a number this takes. Give a whole number of calls from 1 to 10,000", answer, StringComparison.Ordinal);
            Assert.Contains($"value=\"{WebUtility.HtmlEncode(bad.Trim())}\" aria-invalid=\"true\" aria-describedby=\"try-it-per-minute-error\"", answer, StringComparison.Ordinal);
            Assert.Contains("id=\"try-it-per-minute-error\"", answer, StringComparison.Ordinal);
            // The other number's form is untouched by it.
            Assert.Contains("name=\"max\" type=\"number\" min=\"1\" max=\"1000\" required value=\"50\" />", answer, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", answer, StringComparison.Ordinal);
        }

        using var admin = h.AdminClient();
        Assert.Equal(60, (int)JsonNode.Parse(await admin.GetStringAsync("/admin/portal/settings"))!["tryItPerMinute"]!);
        Assert.DoesNotContain(await h.Store.ListConsumerChangesAsync(null, 20), c => c.Name == "portal.tryItPerMinute");

        using (var set = await console.PostAsync("/console/settings/try-it-per-minute", ("perMinute", " 1 "), ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.Redirect, set.StatusCode);
            Assert.Equal("/console/settings?done=Done.", set.Headers.Location?.OriginalString);
        }

        Assert.Equal(1, (int)JsonNode.Parse(await admin.GetStringAsync("/admin/portal/settings"))!["tryItPerMinute"]!);
        Assert.Contains("Now 1 (default 60).", await console.PageAsync("/console/settings"), StringComparison.Ordinal);
        var changes = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/changes"))!["items"]!.AsArray();
        var logged = changes.First(c => (string?)c!["name"] == "portal.tryItPerMinute")!;
        Assert.Equal(("console:admin-token", "set", "setting"), ((string)logged["actor"]!, (string)logged["action"]!, (string)logged["kind"]!));
        Assert.Equal("1", (string?)logged["after"]!["value"]);

        // And try it holds an account to it: one call a minute.
        using var browser = await h.ConsumerAsync("limited@example.com");
        var (_, key) = await PortalHarness.CreateAppAsync(browser, "retail");
        var target = "/try?scalar_url=" + Uri.EscapeDataString(h.Gateway.Urls[0].TrimEnd('/') + "/users/7");
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target);
            request.Headers.Add("X-Api-Key", key);
            request.Headers.Add("Sec-Fetch-Site", "same-origin");
            using var tried = await browser.Client.SendAsync(request);
            statuses.Add(tried.StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task TheSettingsPage_KeepsAViewerToLooking()
    {
        await using var h = await PortalHarness.StartAsync();
        using var admin = await ConsoleTests.ConsoleAsync(h);
        var page = await admin.PageAsync("/console/settings");
        Assert.Contains("action=\"/console/settings/try-it-per-minute\"", page, StringComparison.Ordinal);
        await ConsoleTests.CreateUserAsync(h, "viewer@example.com", "viewer");
        using var viewer = await ConsoleTests.ConsoleAsync(h, "viewer@example.com", "a console pass phrase");
        var seen = await viewer.PageAsync("/console/settings");
        Assert.Contains("Now 60 (default 60).", seen, StringComparison.Ordinal);
        Assert.DoesNotContain("action=\"/console/settings/try-it-per-minute\"", seen, StringComparison.Ordinal);
        using var refused = await viewer.PostAsync("/console/settings/try-it-per-minute", ("perMinute", "5"), ("__RequestVerificationToken", Browser.TokenOf(seen)));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(60, await h.Admin.ConsumerService.TryItPerMinuteAsync(CancellationToken.None));
    }
}
