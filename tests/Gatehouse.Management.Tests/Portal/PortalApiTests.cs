using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: the portal's JSON API for consumers' scripts (/api/v1), with API tokens made on the portal's /tokens page,
/// against the real portal, admin API, store and gateway.
/// </summary>
[Trait("Issue", "18")]
public sealed partial class PortalApiTests
{
    [GeneratedRegex("data-new-key=\"(ghc_[A-Za-z0-9_-]+)\"")]
    private static partial Regex NewToken();

    /// <summary>Makes a token on the /tokens page; its value, from the page that shows it once.</summary>
    internal static async Task<string> MakeTokenAsync(Browser browser, string name, string scope = "write", string expires = "90d")
    {
        using var made = await browser.SubmitAsync("/tokens", "/tokens", ("name", name), ("scope", scope), ("expires", expires));
        var html = await made.Content.ReadAsStringAsync();
        Assert.True(made.StatusCode == HttpStatusCode.Created, html);
        return NewToken().Match(html).Groups[1].Value;
    }

    internal static HttpClient Api(PortalHarness h, string? token)
    {
        var client = new HttpClient { BaseAddress = new Uri(h.Portal.Url) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonObject> ObjectAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected, string slug)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await ObjectAsync(response, expected);
        Assert.Equal("urn:gatehouse:problem:" + slug, (string)problem["type"]!);
        return problem;
    }

    [Fact]
    public async Task AToken_MadeOnThePage_ManagesTheAccountsApplications_EndToEnd_AndIsNamedInTheirActivity()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("scripted@example.com");
        var token = await MakeTokenAsync(browser, "ci-deploy");
        Assert.StartsWith("ghc_", token, StringComparison.Ordinal);

        // Shown once, with a command to try it against this portal; then the list has its name and prefix, never the token.
        using (var again = await browser.SubmitAsync("/tokens", "/tokens", ("name", "try-it"), ("scope", "read"), ("expires", "30d")))
        {
            var shown = await again.Content.ReadAsStringAsync();
            var tryIt = NewToken().Match(shown).Groups[1].Value;
            Assert.Contains($"curl -H &quot;Authorization: Bearer {tryIt}&quot; {h.Portal.Url.TrimEnd('/')}/api/v1/applications", shown, StringComparison.Ordinal);
        }

        var page = await browser.PageAsync("/tokens");
        Assert.Contains("ci-deploy", page, StringComparison.Ordinal);
        Assert.Contains(token[..8] + "…", page, StringComparison.Ordinal);
        Assert.DoesNotContain(token, page, StringComparison.Ordinal);

        using var api = Api(h, token);
        var me = await ObjectAsync(await api.GetAsync("/api/v1/me"), HttpStatusCode.OK);
        Assert.Equal("scripted@example.com", (string)me["email"]!);
        Assert.Equal("write", (string)me["token"]!["scope"]!);
        Assert.NotNull(me["token"]!["lastUsedAt"]);

        var plans = await ObjectAsync(await api.GetAsync("/api/v1/plans"), HttpStatusCode.OK);
        Assert.Equal(["retail", "wholesale"], plans["items"]!.AsArray().Select(p => (string)p!["name"]!));
        Assert.Equal([null, "Read and write <b>users</b>"], plans["items"]!.AsArray().Select(p => (string?)p!["description"]));

        using var createdResponse = await api.PostAsync("/api/v1/applications", Json("""{"title":"Nightly sync","plan":"retail","keyExpiresIn":"30d"}"""));
        var created = await ObjectAsync(createdResponse, HttpStatusCode.Created);
        var id = (string)created["application"]!["id"]!;
        var key = (string)created["key"]!;
        Assert.Equal("/api/v1/applications/" + id, createdResponse.Headers.Location?.OriginalString);
        Assert.Equal("live", (string)created["application"]!["state"]!);
        Assert.NotNull(created["application"]!["keys"]![0]!["expiresAt"]);
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key));

        var list = await ObjectAsync(await api.GetAsync("/api/v1/applications"), HttpStatusCode.OK);
        Assert.Equal(id, (string)Assert.Single(list["items"]!.AsArray())!["id"]!);
        Assert.DoesNotContain(key, list.ToJsonString(), StringComparison.Ordinal);

        // A move onto a plan that needs approval goes pending, as on the page.
        using (var moved = await api.PatchAsync("/api/v1/applications/" + id, Json("""{"plan":"wholesale"}""")))
        {
            Assert.Equal("pending", (string)(await ObjectAsync(moved, HttpStatusCode.OK))["state"]!);
        }

        using (var back = await api.PatchAsync("/api/v1/applications/" + id, Json("""{"plan":"retail","title":"Nightly sync v2","description":"From CI"}""")))
        {
            var changed = await ObjectAsync(back, HttpStatusCode.OK);
            Assert.Equal(("retail", "Nightly sync v2", "From CI"), ((string)changed["plan"]!, (string)changed["title"]!, (string)changed["description"]!));
        }

        await ProblemAsync(await api.PatchAsync("/api/v1/applications/" + id, Json("""{"title":""}""")), HttpStatusCode.UnprocessableEntity, "invalid-input");
        await ProblemAsync(await api.PatchAsync("/api/v1/applications/" + id, Json("""{}""")), HttpStatusCode.BadRequest, "admin-bad-parameter");

        // The page renames too.
        using (var renamed = await browser.SubmitAsync("/apps/" + id, $"/apps/{id}/name", ("title", "Nightly"), ("description", "")))
        {
            Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
            Assert.Contains("Name and description changed.", await renamed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(("Nightly", ""), ((await h.Store.GetApplicationAsync(id))!.Title, (await h.Store.GetApplicationAsync(id))!.Description));

        var rotated = await ObjectAsync(await api.PostAsync($"/api/v1/applications/{id}/keys/{key[..8]}/rotate", Json("""{"grace":"0s"}""")), HttpStatusCode.Created);
        var newKey = (string)rotated["key"]!;
        await Gatehouse.Gateway.Tests.Infrastructure.Wait.UntilAsync(async () => await h.CallGatewayAsync("GET", newKey) == HttpStatusCode.OK, "the new key works");
        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", key));

        // While it has a key that works there is no second; once its last is revoked, a script gets a new one as the page does.
        var refused = await ObjectAsync(await api.PostAsync($"/api/v1/applications/{id}/keys", Json("{}")), HttpStatusCode.Conflict);
        Assert.Equal("urn:gatehouse:problem:application-has-key", (string?)refused["type"]);
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/api/v1/applications/{id}/keys/{newKey[..8]}")).StatusCode);
        var made = await ObjectAsync(await api.PostAsync($"/api/v1/applications/{id}/keys", Json("""{"keyExpiresIn":"30d"}""")), HttpStatusCode.Created);
        var third = (string)made["key"]!;
        Assert.InRange((DateTimeOffset)made["application"]!["keys"]![0]!["expiresAt"]! - DateTimeOffset.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30));
        await Gatehouse.Gateway.Tests.Infrastructure.Wait.UntilAsync(async () => await h.CallGatewayAsync("GET", third) == HttpStatusCode.OK, "the key made by the API works");
        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", newKey));

        var usage = await ObjectAsync(await api.GetAsync($"/api/v1/applications/{id}/usage?from=2026-01-01&to=2026-01-31"), HttpStatusCode.OK);
        Assert.Equal(id, (string)usage["application"]!);
        Assert.Equal(31, usage["days"]!.AsArray().Count);

        using (var csv = await api.GetAsync($"/api/v1/applications/{id}/usage.csv?from=2026-01-01&to=2026-01-31"))
        {
            Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
            Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
            Assert.Equal($"{id}-usage-2026-01-01-2026-01-31.csv", csv.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
            var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(Gatehouse.Management.Analytics.ConsumerUsageCsv.Header, lines[0]);
            Assert.Equal(32, lines.Length);
            Assert.StartsWith("2026-01-31,", lines[^1], StringComparison.Ordinal);
        }

        using (var download = await browser.GetAsync($"/apps/{id}/usage.csv?from=2026-02-01&to=2026-02-03"))
        {
            Assert.Equal("text/csv", download.Content.Headers.ContentType?.MediaType);
            Assert.Equal(4, (await download.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        }

        using (var badRange = await browser.GetAsync($"/apps/{id}/usage.csv?from=2026-02-03&to=2026-02-01"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badRange.StatusCode);
        }

        var log = await ObjectAsync(await api.GetAsync($"/api/v1/applications/{id}/activity"), HttpStatusCode.OK);
        var whats = log["items"]!.AsArray().Select(c => ((string)c!["who"]!, (string)c["what"]!)).ToList();
        Assert.Equal(("you, with the API token ci-deploy", "create"), whats[^1]);
        Assert.Contains(("you", "rename"), whats);
        Assert.Contains(("you, with the API token ci-deploy", "change plan to wholesale"), whats);

        var activity = await browser.PageAsync("/apps/" + id);
        Assert.Contains($"/apps/{id}/usage.csv", activity, StringComparison.Ordinal);
        Assert.Contains("you, with the API token ci-deploy", activity, StringComparison.Ordinal);

        using (var revoked = await api.DeleteAsync($"/api/v1/applications/{id}/keys/{third[..8]}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        using (var deleted = await api.DeleteAsync("/api/v1/applications/" + id))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await ProblemAsync(await api.GetAsync("/api/v1/applications/" + id), HttpStatusCode.NotFound, "admin-not-found");
        var changes = await h.Store.ListConsumerChangesOfAsync("application", id, 20);
        Assert.All(changes.Where(c => c.Action != "rename" || c.Actor != "portal:scripted@example.com"), c => Assert.Equal("portal:scripted@example.com token ci-deploy", c.Actor));
        Assert.Contains(changes, c => c.Action == "rename" && c.Actor == "portal:scripted@example.com");
    }

    [Fact]
    public async Task AReadToken_MayOnlyLook_AndAnotherAccountsApplication_IsNotFound()
    {
        await using var h = await PortalHarness.StartAsync();
        using var owner = await h.ConsumerAsync("owner@example.com");
        var (theirs, _) = await PortalHarness.CreateAppAsync(owner, "retail", "Theirs");
        using var reader = await h.ConsumerAsync("reader@example.com");
        var (mine, _) = await PortalHarness.CreateAppAsync(reader, "retail", "Mine");
        var token = await MakeTokenAsync(reader, "dashboard", scope: "read");
        using var api = Api(h, token);

        Assert.Equal(mine, (string)(await ObjectAsync(await api.GetAsync("/api/v1/applications/" + mine), HttpStatusCode.OK))["id"]!);
        var refused = await ProblemAsync(await api.PostAsync("/api/v1/applications", Json("""{"title":"X","plan":"retail"}""")), HttpStatusCode.Forbidden, "token-read-only");
        Assert.Contains("dashboard", (string)refused["detail"]!, StringComparison.Ordinal);
        await ProblemAsync(await api.DeleteAsync("/api/v1/applications/" + mine), HttpStatusCode.Forbidden, "token-read-only");
        Assert.Single(await h.Store.ListApplicationsAsync((await h.Store.FindAccountByEmailAsync("reader@example.com"))!.Id, null, null, 10));

        // Another account's application answers exactly like one that does not exist, for reading and for changing.
        await ProblemAsync(await api.GetAsync("/api/v1/applications/" + theirs), HttpStatusCode.NotFound, "admin-not-found");
        await ProblemAsync(await api.GetAsync($"/api/v1/applications/{theirs}/usage"), HttpStatusCode.NotFound, "admin-not-found");
        var writer = await MakeTokenAsync(reader, "writer");
        using var writing = Api(h, writer);
        await ProblemAsync(await writing.DeleteAsync("/api/v1/applications/" + theirs), HttpStatusCode.NotFound, "admin-not-found");
        await ProblemAsync(await writing.PatchAsync("/api/v1/applications/" + theirs, Json("""{"plan":"retail"}""")), HttpStatusCode.NotFound, "admin-not-found");
        Assert.False((await h.Store.GetApplicationAsync(theirs))!.Deleted);
    }

    [Fact]
    public async Task Refusals_AreProblems_WithTheBearerChallenge_AndASessionCookieIsNotEnough()
    {
        var time = new FakeTime(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
        await using var h = await PortalHarness.StartAsync(time);
        using var browser = await h.ConsumerAsync("refused@example.com");
        var token = await MakeTokenAsync(browser, "short-lived", expires: "30d");

        using (var none = await Api(h, null).GetAsync("/api/v1/me"))
        {
            await ProblemAsync(none, HttpStatusCode.Unauthorized, "token-missing");
            Assert.Equal("Bearer realm=\"gatehouse-portal\"", none.Headers.WwwAuthenticate.ToString());
        }

        using (var wrong = await Api(h, "ghc_" + new string('x', 32)).GetAsync("/api/v1/applications"))
        {
            await ProblemAsync(wrong, HttpStatusCode.Unauthorized, "token-invalid");
            Assert.Contains("error=\"invalid_token\"", wrong.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        // The signed-in browser's cookies do not authenticate the API: a page elsewhere cannot make it call the API.
        using (var cookies = await browser.GetAsync("/api/v1/me"))
        {
            await ProblemAsync(cookies, HttpStatusCode.Unauthorized, "token-missing");
        }

        using var api = Api(h, token);
        await ProblemAsync(await api.PostAsync("/api/v1/applications", Json("""{"title":"X","plan":"retail","colour":"red"}""")), HttpStatusCode.BadRequest, "admin-bad-parameter");
        await ProblemAsync(await api.PostAsync("/api/v1/applications", Json("""{"title":7,"plan":"retail"}""")), HttpStatusCode.BadRequest, "admin-bad-parameter");
        await ProblemAsync(await api.PostAsync("/api/v1/applications", Json("not json")), HttpStatusCode.BadRequest, "malformed-json");
        await ProblemAsync(await api.PostAsync("/api/v1/applications", Json("""{"title":"X","plan":"retail","keyExpiresIn":"7d"}""")), HttpStatusCode.UnprocessableEntity, "invalid-input");
        await ProblemAsync(await api.PostAsync("/api/v1/applications", Json("""{"title":"X","plan":"internal"}""")), HttpStatusCode.UnprocessableEntity, "invalid-input");
        await ProblemAsync(await api.PostAsync("/api/v1/applications", Json($$"""{"title":"{{new string('x', 17 * 1024)}}","plan":"retail"}""")), HttpStatusCode.RequestEntityTooLarge, "body-too-large");
        await ProblemAsync(await api.GetAsync("/api/v1/applications/app-x/usage?from=2026-13-01"), HttpStatusCode.BadRequest, "admin-bad-parameter");
        await ProblemAsync(await api.GetAsync("/api/v1/nowhere"), HttpStatusCode.NotFound, "api-not-found");
        var account = await h.Store.FindAccountByEmailAsync("refused@example.com");
        Assert.Empty(await h.Store.ListApplicationsAsync(account!.Id, null, null, 10));

        // Expired: the answer names the token and when it ended.
        time.Advance(TimeSpan.FromDays(31));
        var expired = await ProblemAsync(await api.GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized, "token-expired");
        Assert.Contains("short-lived expired at 2026-05-31 08:00 UTC", (string)expired["detail"]!, StringComparison.Ordinal);
        using var again = h.NewBrowser();
        using (var login = await again.SubmitAsync("/login", "/login", ("email", "refused@example.com"), ("password", "a long enough pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        Assert.Contains("2026-05-31 08:00 UTC (expired)", await again.PageAsync("/tokens"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokedTokens_SuspendedAccounts_AndTokensTurnedOff_StopAtOnce_AndDeletingTheAccountTakesItsTokens()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("stopping@example.com");
        var first = await MakeTokenAsync(browser, "first");
        var second = await MakeTokenAsync(browser, "second");
        var account = (await h.Store.FindAccountByEmailAsync("stopping@example.com"))!;
        using var admin = h.AdminClient();

        // The administrator sees the tokens (never the tokens themselves) and may revoke one.
        var listed = await ObjectAsync(await admin.GetAsync($"/admin/portal/accounts/{account.Id}/tokens"), HttpStatusCode.OK);
        Assert.Equal(["first", "second"], listed["items"]!.AsArray().Select(t => (string)t!["name"]!));
        Assert.DoesNotContain(first, listed.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/admin/portal/accounts/{account.Id}/tokens/second")).StatusCode);
        await ProblemAsync(await Api(h, second).GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized, "token-invalid");

        // Revoked on the page: stops at once.
        using (var revoked = await browser.SubmitAsync("/tokens", "/tokens/first/revoke", ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        await ProblemAsync(await Api(h, first).GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized, "token-invalid");

        // A suspended account's tokens are refused, and work again when it is resumed.
        var third = await MakeTokenAsync(browser, "third");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/admin/portal/accounts/{account.Id}/suspend", null)).StatusCode);
        await ProblemAsync(await Api(h, third).GetAsync("/api/v1/me"), HttpStatusCode.Forbidden, "account-suspended");
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/admin/portal/accounts/{account.Id}/resume", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Api(h, third).GetAsync("/api/v1/me")).StatusCode);

        // Turned off for the whole portal: existing tokens are refused, and the page makes none.
        using (var off = await admin.PutAsync("/admin/portal/settings", Json("""{"apiTokens":false}""")))
        {
            Assert.False((bool)(await ObjectAsync(off, HttpStatusCode.OK))["apiTokens"]!);
        }

        await ProblemAsync(await Api(h, third).GetAsync("/api/v1/me"), HttpStatusCode.Forbidden, "tokens-off");
        using (var browser2 = await h.ConsumerAsync("late@example.com"))
        {
            var page = await browser2.PageAsync("/tokens");
            Assert.Contains("turned API tokens off", page, StringComparison.Ordinal);
            // The page has no form now; the account page's antiforgery token stands in for one kept from before.
            using var refused = await browser2.PostAsync("/tokens", ("name", "x"), ("scope", "read"), ("expires", ""), ("__RequestVerificationToken", Browser.TokenOf(await browser2.PageAsync("/account"))));
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var on = await admin.PutAsync("/admin/portal/settings", Json("""{"apiTokens":true}""")))
        {
            Assert.True((bool)(await ObjectAsync(on, HttpStatusCode.OK))["apiTokens"]!);
        }

        // Changes through a token, then the account deleted: its tokens go, and the change log keeps the token's name
        // under the account's pseudonym, not its address.
        using (var created = await Api(h, third).PostAsync("/api/v1/applications", Json("""{"title":"Last","plan":"retail"}""")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/admin/portal/accounts/{account.Id}")).StatusCode);
        Assert.Empty(await h.Store.ListPortalTokensAsync(account.Id));
        await ProblemAsync(await Api(h, third).GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized, "token-invalid");
        var log = await admin.GetStringAsync("/admin/portal/changes?limit=1000");
        Assert.DoesNotContain("stopping@example.com", log, StringComparison.Ordinal);
        Assert.Contains($"portal:{account.Id} token third", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheConsolesAccountsPage_CountsAnAccountsTokens_AndRevokesThemAll()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("leaky@example.com");
        var first = await MakeTokenAsync(browser, "laptop");
        var second = await MakeTokenAsync(browser, "ci", scope: "read");
        using var other = await h.ConsumerAsync("careful@example.com");
        var kept = await MakeTokenAsync(other, "kept");
        var leaky = (await h.Store.FindAccountByEmailAsync("leaky@example.com"))!;
        var careful = (await h.Store.FindAccountByEmailAsync("careful@example.com"))!;

        using var console = new Browser(h.Admin.Url);
        using (var signedIn = await console.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken)))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        }

        var accounts = await console.PageAsync("/console/accounts");
        Assert.Contains("API tokens", accounts, StringComparison.Ordinal);
        Assert.Contains($"/console/accounts/{leaky.Id}/tokens/revoke", accounts, StringComparison.Ordinal);
        using (var unconfirmed = await console.PostAsync($"/console/accounts/{leaky.Id}/tokens/revoke", ("__RequestVerificationToken", Browser.TokenOf(accounts))))
        {
            Assert.NotEqual(HttpStatusCode.Redirect, unconfirmed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await Api(h, first).GetAsync("/api/v1/me")).StatusCode);
        using (var revoked = await console.PostAsync($"/console/accounts/{leaky.Id}/tokens/revoke", ("confirm", "yes"), ("__RequestVerificationToken", Browser.TokenOf(accounts))))
        {
            Assert.Equal(HttpStatusCode.Redirect, revoked.StatusCode);
        }

        await ProblemAsync(await Api(h, first).GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized, "token-invalid");
        await ProblemAsync(await Api(h, second).GetAsync("/api/v1/me"), HttpStatusCode.Unauthorized, "token-invalid");
        Assert.Equal(HttpStatusCode.OK, (await Api(h, kept).GetAsync("/api/v1/me")).StatusCode);
        var after = await console.PageAsync("/console/accounts");
        Assert.DoesNotContain($"/console/accounts/{leaky.Id}/tokens/revoke", after, StringComparison.Ordinal);
        Assert.Contains($"/console/accounts/{careful.Id}/tokens/revoke", after, StringComparison.Ordinal);
        Assert.Equal(2, (await h.Store.ListConsumerChangesOfAsync("account", leaky.Id, 20)).Count(c => c.Action == "token-revoke" && c.Actor == "console:admin-token"));
    }

    [Fact]
    public async Task AnAccount_HoldsAtMostTheSettingsApplications_ThroughTheApiAndThePages()
    {
        await using var h = await PortalHarness.StartAsync();
        using var admin = h.AdminClient();
        using (var set = await admin.PutAsync("/admin/portal/settings", Json("""{"maxApplicationsPerAccount":2}""")))
        {
            Assert.Equal(2, (int)(await ObjectAsync(set, HttpStatusCode.OK))["maxApplicationsPerAccount"]!);
        }

        using var browser = await h.ConsumerAsync("capped@example.com");
        using var api = Api(h, await MakeTokenAsync(browser, "loop"));
        string? first = null;
        for (var i = 0; i < 2; i++)
        {
            using var created = await api.PostAsync("/api/v1/applications", Json($$"""{"title":"App {{i}}","plan":"retail"}"""));
            first ??= (string)(await ObjectAsync(created, HttpStatusCode.Created))["application"]!["id"]!;
        }

        var refused = await ProblemAsync(await api.PostAsync("/api/v1/applications", Json("""{"title":"One more","plan":"retail"}""")), HttpStatusCode.Conflict, "too-many-applications");
        Assert.Contains("may hold 2 applications", (string)refused["detail"]!, StringComparison.Ordinal);
        using (var page = await browser.SubmitAsync("/apps/new", "/apps/new", ("title", "By hand"), ("description", ""), ("plan", "retail")))
        {
            Assert.Equal(HttpStatusCode.Conflict, page.StatusCode);
        }

        // A deleted application frees its place.
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync("/api/v1/applications/" + first)).StatusCode);
        using var again = await api.PostAsync("/api/v1/applications", Json("""{"title":"Replacement","plan":"retail"}"""));
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        var account = await h.Store.FindAccountByEmailAsync("capped@example.com");
        Assert.Equal(2, (await h.Store.ListApplicationsAsync(account!.Id, null, null, 10)).Count);
    }

    [Fact]
    public async Task TheConsolesSettingsPage_TurnsTheSwitches_AndSetsTheApplicationsCap_AsTheAdminApiReadsThem()
    {
        await using var h = await PortalHarness.StartAsync();
        using var console = new Browser(h.Admin.Url);
        using (var signedIn = await console.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken)))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        }

        var page = await console.PageAsync("/console/settings");
        Assert.Contains("<td>apiTokens</td><td>on</td>", page, StringComparison.Ordinal);
        Assert.Contains("<td>accountApproval</td><td>off</td>", page, StringComparison.Ordinal);
        Assert.Contains("value=\"50\"", page, StringComparison.Ordinal);

        foreach (var action in new[] { "/console/settings/apiTokens/off", "/console/settings/accountApproval/on", "/console/settings/consoleTwoStepRequired/on" })
        {
            using var changed = await console.PostAsync(action, ("__RequestVerificationToken", Browser.TokenOf(page)));
            Assert.Equal(HttpStatusCode.Redirect, changed.StatusCode);
        }

        using (var cap = await console.PostAsync("/console/settings/max-applications", ("max", "7"), ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.Redirect, cap.StatusCode);
        }

        using (var bad = await console.PostAsync("/console/settings/max-applications", ("max", "0"), ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        }

        using (var unknown = await console.PostAsync("/console/settings/everything/on", ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using var admin = h.AdminClient();
        var settings = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/settings"))!;
        Assert.Equal((false, true, 7), ((bool)settings["apiTokens"]!, (bool)settings["accountApproval"]!, (int)settings["maxApplicationsPerAccount"]!));
        Assert.True((bool)JsonNode.Parse(await admin.GetStringAsync("/admin/console/settings"))!["twoStepRequired"]!);
        Assert.Contains("<td>apiTokens</td><td>off</td>", await console.PageAsync("/console/settings"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenNames_AreChecked_Unique_AndAtMostTwentyAnAccount()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("many@example.com");
        foreach (var (name, scope, expires, status, says) in new[]
        {
            ("has space", "read", "", HttpStatusCode.UnprocessableEntity, "1 to 64 letters"),
            (new string('n', 65), "read", "", HttpStatusCode.UnprocessableEntity, "1 to 64 letters"),
            ("ok", "admin", "", HttpStatusCode.UnprocessableEntity, "The scope is read"),
            ("ok", "read", "7d", HttpStatusCode.UnprocessableEntity, "Choose when the token expires"),
        })
        {
            using var refused = await browser.SubmitAsync("/tokens", "/tokens", ("name", name), ("scope", scope), ("expires", expires));
            Assert.Equal(status, refused.StatusCode);
            Assert.Contains(says, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        for (var i = 0; i < 20; i++)
        {
            await MakeTokenAsync(browser, "t" + i, expires: "");
        }

        using (var taken = await browser.SubmitAsync("/tokens", "/tokens", ("name", "t3"), ("scope", "read"), ("expires", "")))
        {
            Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
            Assert.Contains("already have a token named t3", await taken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var tooMany = await browser.SubmitAsync("/tokens", "/tokens", ("name", "t20"), ("scope", "read"), ("expires", "")))
        {
            Assert.Equal(HttpStatusCode.Conflict, tooMany.StatusCode);
            Assert.Contains("may hold 20 tokens", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var account = await h.Store.FindAccountByEmailAsync("many@example.com");
        var tokens = await h.Store.ListPortalTokensAsync(account!.Id);
        Assert.Equal(20, tokens.Count);
        Assert.All(tokens, t => Assert.Null(t.ExpiresAt));
    }

    [Fact]
    public async Task AnAddressSendingUnknownTokens_IsRefusedWithoutALookup_AfterThirtyInAMinute()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("guessed@example.com");
        var valid = await MakeTokenAsync(browser, "valid");
        for (var i = 0; i < Gatehouse.Management.Portal.PortalApiEndpoints.TokenFailures.Limit; i++)
        {
            using var wrong = await Api(h, $"ghc_guess{i}").GetAsync("/api/v1/me");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using var limited = await Api(h, "ghc_guess-more").GetAsync("/api/v1/me");
        await ProblemAsync(limited, HttpStatusCode.TooManyRequests, "too-many-attempts");
        Assert.Equal(TimeSpan.FromSeconds(60), limited.Headers.RetryAfter?.Delta);
        // Missing tokens do not count (a client that forgot the header is not guessing), but the address waits out the minute.
        await ProblemAsync(await Api(h, valid).GetAsync("/api/v1/me"), HttpStatusCode.TooManyRequests, "too-many-attempts");
    }

    [Fact]
    public async Task TheApisOpenApiDocument_PassesRedoclyLint_AndDescribesEveryEndpointItMaps()
    {
        await using var h = await PortalHarness.StartAsync();
        var text = await Api(h, null).GetStringAsync("/api/v1/openapi.json");
        var document = JsonNode.Parse(text)!.AsObject();
        var file = Path.Combine(h.Folder, "portal-openapi.json");
        await File.WriteAllTextAsync(file, text);

        var redocly = await Admin.AdminOpenApiLintTests.RedoclyAsync();
        var (code, output) = await Admin.AdminOpenApiLintTests.RunAsync(redocly, ["lint", file, "--extends=recommended", "--format=stylish"], h.Folder);
        Assert.True(code == 0, "redocly lint failed:\n" + output);
        Assert.False(Regex.IsMatch(output, @"(?m)^\s*\d+:\d+\s+(warning|error)\b|You have \d+ warning"), "redocly lint warned:\n" + output);

        var paths = document["paths"]!.AsObject();
        var mapped = new[]
        {
            ("get", "/plans"), ("get", "/me"), ("get", "/applications"), ("post", "/applications"), ("get", "/applications/{id}"), ("patch", "/applications/{id}"),
            ("delete", "/applications/{id}"), ("post", "/applications/{id}/keys"), ("post", "/applications/{id}/keys/{prefix}/rotate"), ("delete", "/applications/{id}/keys/{prefix}"), ("get", "/applications/{id}/activity"), ("get", "/applications/{id}/usage"), ("get", "/applications/{id}/usage.csv"),
            ("post", "/applications/{id}/oauth-clients"), ("delete", "/applications/{id}/oauth-clients/{clientId}"), ("put", "/applications/{id}/allowed-addresses"),
        };
        Assert.Equal(mapped.Length, paths.Sum(p => p.Value!.AsObject().Count(o => o.Key is "get" or "post" or "put" or "patch" or "delete")));
        Assert.All(mapped, m => Assert.NotNull(paths[m.Item2]?[m.Item1]));
    }
}
