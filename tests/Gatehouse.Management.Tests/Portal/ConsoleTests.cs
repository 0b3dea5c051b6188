using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Management.Admin;
using Gatehouse.Model.Access;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>Issue #18, the admin console: who may sign in, what a viewer may do, and that actions are audited with the acting user.</summary>
[Trait("Issue", "18")]
public sealed class ConsoleTests
{
    internal static async Task CreateUserAsync(PortalHarness h, string email, string role)
    {
        using var admin = new HttpClient { BaseAddress = new Uri(h.Admin.Url) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PortalHarness.AdminToken);
        using var weak = await admin.PutAsync($"/admin/users/{email}", new StringContent("""{"password":"short","role":"admin"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, weak.StatusCode);
        using var made = await admin.PutAsync($"/admin/users/{email}", new StringContent($$"""{"password":"a console pass phrase","role":"{{role}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, made.StatusCode);
        Assert.DoesNotContain("AQAAAA", await admin.GetStringAsync("/admin/users"), StringComparison.Ordinal);
    }

    // A console session: signed in with the admin token, or as a console user.
    internal static async Task<Browser> ConsoleAsync(PortalHarness h, string email = "", string password = PortalHarness.AdminToken)
    {
        var browser = new Browser(h.Admin.Url);
        using var login = await browser.SubmitPastBusyAsync("/console/login", "/console/login", ("email", email), ("password", password));
        Assert.True(login.StatusCode == HttpStatusCode.Redirect, $"signing in as '{email}' was answered {login.StatusCode}");
        return browser;
    }

    internal static async Task<HttpStatusCode> PendingStatusAsync(Browser browser)
    {
        using var page = await browser.GetAsync("/console/pending");
        return page.StatusCode;
    }

    /// <summary>
    /// A console session lasts while what it was made with holds: the user's password and role, the user itself. A
    /// demoted, re-passworded or deleted user's session ends at its next request (it used to keep its role while used).
    /// </summary>
    [Fact]
    public async Task ConsoleSessions_EndWhenTheUsersPasswordOrRoleChanges_OrTheUserIsDeleted()
    {
        await using var h = await PortalHarness.StartAsync();
        using var admin = h.AdminClient();
        async Task<Browser> SignInAsync(string email, string password = "a console pass phrase")
        {
            var browser = new Browser(h.Admin.Url);
            using var login = await browser.SubmitPastBusyAsync("/console/login", "/console/login", ("email", email), ("password", password));
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
            Assert.Equal(HttpStatusCode.OK, await PendingStatusAsync(browser));
            return browser;
        }

        await CreateUserAsync(h, "demoted@example.com", "admin");
        await CreateUserAsync(h, "repassworded@example.com", "admin");
        await CreateUserAsync(h, "removed@example.com", "admin");
        await CreateUserAsync(h, "unchanged@example.com", "viewer");
        using var demoted = await SignInAsync("demoted@example.com");
        using var repassworded = await SignInAsync("repassworded@example.com");
        using var removed = await SignInAsync("removed@example.com");
        using var unchanged = await SignInAsync("unchanged@example.com");
        using var consumer = await h.ConsumerAsync("target@example.com");
        var target = (await h.Store.FindAccountByEmailAsync("target@example.com"))!;
        var accountsPage = await demoted.PageAsync("/console/accounts");
        Assert.Contains(">Suspend<", accountsPage, StringComparison.Ordinal);

        using (var put = await admin.PutAsync("/admin/users/demoted@example.com", new StringContent("""{"password":"a console pass phrase","role":"viewer"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        using (var put = await admin.PutAsync("/admin/users/repassworded@example.com", new StringContent("""{"password":"another console phrase","role":"admin"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        using (var deleted = await admin.DeleteAsync("/admin/users/removed@example.com"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        // Back to the sign-in page (a redirect), and a post is refused as signed out rather than done as an admin.
        Assert.Equal(HttpStatusCode.Redirect, await PendingStatusAsync(demoted));
        Assert.Equal(HttpStatusCode.Redirect, await PendingStatusAsync(repassworded));
        Assert.Equal(HttpStatusCode.Redirect, await PendingStatusAsync(removed));
        Assert.Equal(HttpStatusCode.OK, await PendingStatusAsync(unchanged));
        using (var post = await demoted.PostAsync($"/console/accounts/{target.Id}/suspend", ("__RequestVerificationToken", Browser.TokenOf(accountsPage))))
        {
            Assert.NotEqual(HttpStatusCode.Redirect, post.StatusCode);
        }

        Assert.Equal(Gatehouse.Management.Consumers.AccountState.Active, (await h.Store.GetAccountAsync(target.Id))!.State);

        using var demotedAgain = await SignInAsync("demoted@example.com");
        Assert.DoesNotContain(">Suspend<", await demotedAgain.PageAsync("/console/accounts"), StringComparison.Ordinal);
        using var again = await SignInAsync("repassworded@example.com", "another console phrase");
    }

    /// <summary>Behind a TLS-terminating proxy on this machine the console's cookies are Secure, as the portal's are.</summary>
    [Fact]
    public async Task ConsoleCookies_AreHttpOnlyAndLax_AndSecureBehindHttps()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = new Browser(h.Admin.Url);
        using var page = await browser.GetAsync("/console/login");
        var csrf = Assert.Single(page.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", csrf, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", csrf, StringComparison.OrdinalIgnoreCase); // plain HTTP: a Secure cookie would never come back

        using var request = new HttpRequestMessage(HttpMethod.Post, "/console/login")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("email", ""), KeyValuePair.Create("password", PortalHarness.AdminToken),
                KeyValuePair.Create("__RequestVerificationToken", Browser.TokenOf(await page.Content.ReadAsStringAsync()))]),
        };
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var login = await browser.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var session = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("gatehouse.console=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", session, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Console sign-ins and refusals are logged with who and from where; an address with no user is not named.</summary>
    [Fact]
    public async Task ConsoleSignIns_AreLogged_WithoutNamingAddressesThatAreNoUsers()
    {
        await using var h = await PortalHarness.StartAsync();
        await CreateUserAsync(h, "logged@example.com", "viewer");
        using var browser = new Browser(h.Admin.Url);
        foreach (var (email, password) in new[] { ("logged@example.com", "a wrong pass phrase"), ("stranger@example.com", "a console pass phrase"), ("", "not the token") })
        {
            using var refused = await browser.SubmitAsync("/console/login", "/console/login", ("email", email), ("password", password));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (await ConsoleAsync(h, "logged@example.com", "a console pass phrase"))
        using (await ConsoleAsync(h))
        {
        }

        List<string> logs;
        lock (h.Logs)
        {
            logs = [.. h.Logs.Where(l => l.StartsWith("Console sign-in", StringComparison.Ordinal))];
        }

        Assert.Contains(logs, l => l.StartsWith("Console sign-in refused: logged@example.com from ", StringComparison.Ordinal) && l.EndsWith(": a wrong password", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("Console sign-in refused: an address with no console user from ", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("Console sign-in refused: the admin token from ", StringComparison.Ordinal) && l.EndsWith(": a wrong token", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("Console sign-in: logged@example.com (role viewer) from ", StringComparison.Ordinal) && l.EndsWith(" with a password", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("Console sign-in: admin-token (role admin) from ", StringComparison.Ordinal) && l.EndsWith(" with the admin token", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains("stranger", StringComparison.Ordinal) || l.Contains("pass phrase", StringComparison.Ordinal) || l.Contains(PortalHarness.AdminToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AConsoleUser_ChangesTheirOwnPassword_WithTheCurrentOne_EndingTheirOtherSessions()
    {
        await using var h = await PortalHarness.StartAsync();
        await CreateUserAsync(h, "self@example.com", "viewer");
        using var browser = await ConsoleAsync(h, "self@example.com", "a console pass phrase");
        using var other = await ConsoleAsync(h, "self@example.com", "a console pass phrase");
        Assert.Equal(HttpStatusCode.OK, await PendingStatusAsync(other));
        Assert.Contains("Signed in as self@example.com (role viewer)", await browser.PageAsync("/console/account"), StringComparison.Ordinal);

        using (var wrong = await browser.SubmitAsync("/console/account", "/console/account/password", ("current", "not the pass phrase"), ("password", "a fresh console phrase")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("The current password is not right", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var weak = await browser.SubmitAsync("/console/account", "/console/account/password", ("current", "a console pass phrase"), ("password", "short")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, weak.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await PendingStatusAsync(other)); // nothing changed yet
        using (var changed = await browser.SubmitAsync("/console/account", "/console/account/password", ("current", "a console pass phrase"), ("password", "a fresh console phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, changed.StatusCode);
            Assert.StartsWith("/console/account?done=", changed.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }

        Assert.Contains("Your password is changed", await browser.PageAsync("/console/account?done=" + Uri.EscapeDataString("Your password is changed; every other session of yours is signed out.")), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await PendingStatusAsync(browser));
        Assert.Equal(HttpStatusCode.Redirect, await PendingStatusAsync(other));
        using var fresh = new Browser(h.Admin.Url);
        using (var old = await fresh.SubmitAsync("/console/login", "/console/login", ("email", "self@example.com"), ("password", "a console pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        using (var login = await fresh.SubmitAsync("/console/login", "/console/login", ("email", "self@example.com"), ("password", "a fresh console phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        // The admin token's session has no password here.
        using var token = await ConsoleAsync(h);
        var page = await token.PageAsync("/console/account");
        Assert.Contains("Signed in with the admin token", page, StringComparison.Ordinal);
        Assert.DoesNotContain("/console/account/password", page, StringComparison.Ordinal);
    }

    /// <summary>A sign-in opens the page that asked for it, in the console and in the portal, and never another site.</summary>
    [Fact]
    public async Task SigningIn_ReturnsToThePageThatAskedForIt_ButNeverToAnotherSite()
    {
        await using var h = await PortalHarness.StartAsync();
        using var console = new Browser(h.Admin.Url);
        using (var asked = await console.GetAsync("/console/audit?x=1"))
        {
            Assert.Equal(HttpStatusCode.Redirect, asked.StatusCode);
            Assert.Equal("/console/login?returnUrl=%2Fconsole%2Faudit%3Fx%3D1", asked.Headers.Location?.OriginalString);
        }

        Assert.Contains("action=\"/console/login?returnUrl=%2Fconsole%2Faudit%3Fx%3D1\"", await console.PageAsync("/console/login?returnUrl=%2Fconsole%2Faudit%3Fx%3D1"), StringComparison.Ordinal);
        using (var login = await console.SubmitAsync("/console/login", "/console/login?returnUrl=%2Fconsole%2Faudit%3Fx%3D1", ("email", ""), ("password", PortalHarness.AdminToken)))
        {
            Assert.Equal("/console/audit?x=1", login.Headers.Location?.OriginalString);
        }

        foreach (var foreign in new[] { "https://evil.example/", "//evil.example/console/", "/\\evil.example", "/console/\\x", "/apps" })
        {
            using var other = new Browser(h.Admin.Url);
            Assert.DoesNotContain("evil", await other.PageAsync("/console/login?returnUrl=" + Uri.EscapeDataString(foreign)), StringComparison.Ordinal);
            using var login = await other.SubmitAsync("/console/login", "/console/login?returnUrl=" + Uri.EscapeDataString(foreign), ("email", ""), ("password", PortalHarness.AdminToken));
            Assert.Equal("/console/pending", login.Headers.Location?.OriginalString);
        }

        await h.ConsumerAsync("returning@example.com");
        using var portal = h.NewBrowser();
        using (var asked = await portal.GetAsync("/account"))
        {
            Assert.Equal("/login?returnUrl=%2Faccount", asked.Headers.Location?.OriginalString);
        }

        using (var wrong = await portal.SubmitAsync("/login?returnUrl=%2Faccount", "/login?returnUrl=%2Faccount", ("email", "returning@example.com"), ("password", "not the password at all")))
        {
            Assert.Contains("action=\"/login?returnUrl=%2Faccount\"", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var login = await portal.SubmitAsync("/login?returnUrl=%2Faccount", "/login?returnUrl=%2Faccount", ("email", "returning@example.com"), ("password", "a long enough pass phrase")))
        {
            Assert.Equal("/account", login.Headers.Location?.OriginalString);
        }

        using var elsewhere = h.NewBrowser();
        using (var login = await elsewhere.SubmitAsync("/login", "/login?returnUrl=" + Uri.EscapeDataString("//evil.example/"), ("email", "returning@example.com"), ("password", "a long enough pass phrase")))
        {
            Assert.Equal("/apps", login.Headers.Location?.OriginalString);
        }
    }

    [Fact]
    public async Task TheAccessPage_ListsConsoleUsersAndTokens_WithoutSecrets_AndTakesThemAway()
    {
        await using var h = await PortalHarness.StartAsync();
        await CreateUserAsync(h, "boss@example.com", "admin");
        await CreateUserAsync(h, "leaver@example.com", "viewer");
        using var api = h.AdminClient();
        using (var issued = await api.PostAsync("/admin/tokens", new StringContent("""{"name":"ci","scope":"write"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        }

        using var token = await ConsoleAsync(h);
        var page = await token.PageAsync("/console/access");
        Assert.Contains("leaver@example.com", page, StringComparison.Ordinal);
        Assert.Contains(">ci<", page, StringComparison.Ordinal);
        Assert.Contains("action=\"/console/access/tokens/ci/revoke\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("AQAAAA", page, StringComparison.Ordinal);

        // A console user, even an admin, does not revoke tokens (as in the API), and is offered no such button.
        using var boss = await ConsoleAsync(h, "boss@example.com", "a console pass phrase");
        var bossPage = await boss.PageAsync("/console/access");
        Assert.DoesNotContain("/console/access/tokens/ci/revoke", bossPage, StringComparison.Ordinal);
        using (var refused = await boss.PostAsync("/console/access/tokens/ci/revoke", ("__RequestVerificationToken", Browser.TokenOf(bossPage)), ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        Assert.Single(await h.Store.ListAdminTokensAsync());
        using (var unconfirmed = await boss.SubmitAsync("/console/access", "/console/access/users/leaver%40example.com/delete"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.StatusCode);
        }

        using (var deleted = await boss.SubmitAsync("/console/access", "/console/access/users/leaver%40example.com/delete", ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
        }

        Assert.Null(await h.Store.GetAdminUserAsync("leaver@example.com"));
        using (var revoked = await token.SubmitAsync("/console/access", "/console/access/tokens/ci/revoke", ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Redirect, revoked.StatusCode);
        }

        Assert.Empty(await h.Store.ListAdminTokensAsync());
        var changes = await h.Store.ListConsumerChangesAsync(null, 10);
        Assert.Contains(changes, c => c is { Actor: "console:boss@example.com", Action: "delete", Kind: "console-user", Name: "leaver@example.com" });
        Assert.Contains(changes, c => c is { Actor: "console:admin-token", Action: "revoke", Kind: "admin-token", Name: "ci" });
    }

    /// <summary>A session signed in with the admin token ends when the control plane runs with another token.</summary>
    [Fact]
    public async Task AConsoleSessionMadeWithTheAdminToken_DoesNotOutliveTheToken()
    {
        await using var h = await PortalHarness.StartAsync();
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false, UseProxy = false };
        using var first = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri(h.Admin.Url) };
        var form = await first.GetStringAsync("/console/login");
        var token = Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        using (var login = await first.PostAsync("/console/login", new FormUrlEncodedContent([new("email", ""), new("password", PortalHarness.AdminToken), new("__RequestVerificationToken", token)])))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        // Two more control planes on the same store (its cookie keys are shared): one with the same token, one with another.
        async Task<HttpStatusCode> PendingOnAsync(string adminToken)
        {
            await using var api = await AdminApi.StartAsync(new AdminApiOptions
            {
                Url = "http://127.0.0.1:0",
                Store = h.Store,
                TokenSha256 = ApiKeyHash.Sha256Hex(adminToken),
                ConfigureLogging = logging => logging.ClearProviders(),
            });
            using var client = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri(api.Url) };
            using var page = await client.GetAsync("/console/pending");
            return page.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await PendingOnAsync(PortalHarness.AdminToken));
        Assert.Equal(HttpStatusCode.Redirect, await PendingOnAsync("gha_another-token-altogether"));
    }

    [Fact]
    public async Task AdminUser_ApprovesInTheConsole_AuditedAsThatUser_ViewerIsRefused()
    {
        await using var h = await PortalHarness.StartAsync();
        using var consumer = await h.ConsumerAsync("buyer@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(consumer, "wholesale", "Bulk");
        Assert.Equal(HttpStatusCode.Forbidden, await h.CallGatewayAsync("PUT", key));
        await CreateUserAsync(h, "boss@example.com", "admin");
        await CreateUserAsync(h, "watcher@example.com", "viewer");

        using var viewer = new Browser(h.Admin.Url);
        using (var wrong = await viewer.SubmitAsync("/console/login", "/console/login", ("email", "watcher@example.com"), ("password", "not the pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        await viewer.SubmitAsync("/console/login", "/console/login", ("email", "watcher@example.com"), ("password", "a console pass phrase"));
        var pending = await viewer.PageAsync("/console/pending");
        Assert.Contains("Bulk", pending, StringComparison.Ordinal);
        Assert.DoesNotContain(">Approve<", pending, StringComparison.Ordinal);
        using (var refused = await viewer.PostAsync($"/console/applications/{id}/approve", ("__RequestVerificationToken", Browser.TokenOf(pending))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using var boss = await ConsoleAsync(h, "boss@example.com", "a console pass phrase");
        using var approved = await boss.SubmitAsync("/console/pending", $"/console/applications/{id}/approve");
        Assert.Equal(HttpStatusCode.Redirect, approved.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("PUT", key));

        var change = (await h.Store.ListConsumerChangesAsync(null, 1)).Single();
        Assert.Equal(("console:boss@example.com", "approve", id), (change.Actor, change.Action, change.Name));
        Assert.Contains("console:boss@example.com", await boss.PageAsync("/console/audit"), StringComparison.Ordinal);

        // The admin API's bearer check still guards everything outside /console.
        using var anonymous = new HttpClient { BaseAddress = new Uri(h.Admin.Url) };
        using var api = await anonymous.GetAsync("/admin/portal/applications");
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task Console_AnApplicationsPage_ShowsItsOwnerKeysUsageAndChanges_WithItsDecisions()
    {
        await using var h = await PortalHarness.StartAsync();
        using var consumer = await h.ConsumerAsync("owner-of-one@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(consumer, "retail", "Looked at");

        using var console = await ConsoleAsync(h);
        Assert.Contains($"href=\"/console/applications/{id}\"", await console.PageAsync("/console/applications"), StringComparison.Ordinal);

        var page = await console.PageAsync($"/console/applications/{id}");
        Assert.Contains("Application: Looked at", page, StringComparison.Ordinal);
        Assert.Contains("owner-of-one@example.com", page, StringComparison.Ordinal);
        Assert.Contains(">" + key[..8], page, StringComparison.Ordinal);
        Assert.DoesNotContain(key, page, StringComparison.Ordinal);
        Assert.Contains("No calls in the last 30 days.", page, StringComparison.Ordinal);
        Assert.Contains("<td>portal:owner-of-one@example.com</td><td>create</td>", page, StringComparison.Ordinal);
        Assert.Contains($"action=\"/console/applications/{id}/suspend\"", page, StringComparison.Ordinal);

        using var missing = await console.GetAsync("/console/applications/app-nothere");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Console_DeletesAnApplication_AndAnAccountWithItsApplications()
    {
        await using var h = await PortalHarness.StartAsync();
        using var consumer = await h.ConsumerAsync("deleted-by-console@example.com");
        var (first, firstKey) = await PortalHarness.CreateAppAsync(consumer, "retail", "One");
        var (_, secondKey) = await PortalHarness.CreateAppAsync(consumer, "retail", "Two");
        var account = (await h.Store.FindAccountByEmailAsync("deleted-by-console@example.com"))!;

        using var console = await ConsoleAsync(h);
        Assert.Contains($"action=\"/console/accounts/{account.Id}/delete\"", await console.PageAsync("/console/accounts"), StringComparison.Ordinal);
        using (var unconfirmed = await console.SubmitAsync("/console/applications", $"/console/applications/{first}/delete"))
        {
            // Without the "sure" box ticked nothing goes: a slip of the mouse must not delete a consumer's application.
            Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.StatusCode);
            Assert.Contains("Nothing was deleted", await unconfirmed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", firstKey));
        Assert.Matches($"action=\"/console/applications/{first}/delete\">[^<]*<input[^>]*__RequestVerificationToken[^>]*>\\s*<label[^>]*><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required",
            await console.PageAsync("/console/applications"));
        using (var deleted = await console.SubmitAsync("/console/applications", $"/console/applications/{first}/delete", ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", firstKey));
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", secondKey));
        using (var deleted = await console.SubmitAsync("/console/accounts", $"/console/accounts/{account.Id}/delete", ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", secondKey));
        Assert.Null(await h.Store.GetAccountAsync(account.Id));
        Assert.DoesNotContain("deleted-by-console@example.com", await console.PageAsync("/console/accounts"), StringComparison.Ordinal);
        var changes = await h.Store.ListConsumerChangesAsync(null, 100);
        Assert.Contains(changes, c => c is { Action: "delete", Kind: "account", Actor: "console:admin-token" } && c.Name == account.Id);
    }

    [Fact]
    public async Task Console_ConfigApplicationApproval_GoesThroughTheAdminApiPath_AsARevisionByTheUser()
    {
        await using var h = await PortalHarness.StartAsync();
        using var admin = new HttpClient { BaseAddress = new Uri(h.Admin.Url) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PortalHarness.AdminToken);
        await admin.PutAsync("/admin/accounts/acme", new StringContent("{}", Encoding.UTF8, "application/json"));
        using var put = await admin.PutAsync("/admin/applications/acme-bulk", new StringContent("""{"account":"acme","plan":"wholesale"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        using var console = await ConsoleAsync(h);
        Assert.Contains("acme-bulk", await console.PageAsync("/console/pending"), StringComparison.Ordinal);
        using var approved = await console.SubmitAsync("/console/pending", "/console/config-applications/acme-bulk/approve");
        Assert.Equal(HttpStatusCode.Redirect, approved.StatusCode);

        var revision = (await h.Store.ListRevisionsAsync(null, 1)).Single();
        Assert.Equal("console:admin-token", revision.Actor);
        Assert.Equal("approve application acme-bulk", revision.Summary);
        Assert.DoesNotContain("acme-bulk", await console.PageAsync("/console/pending"), StringComparison.Ordinal);
    }
}
