using System.Net;
using System.Net.Http.Headers;
using Gatehouse.Management.Web;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Single sign-on to the console through a real OpenID Connect provider (oidc-provider in a child process): the provider
/// says who someone is, the console's users say who may come in and with what role. The address must be verified and a
/// console user's; the session is that user's and ends like theirs; two-step sign-in still asks for its code; a
/// cancelled or forged answer is a plain page, never an exception.
/// </summary>
[Trait("Issue", "18")]
public sealed class ConsoleSsoTests
{
    private static readonly Dictionary<string, object> Accounts = new()
    {
        ["alice"] = new { email = "Alice@Example.com", email_verified = true },
        ["bob"] = new { email = "bob@example.com", email_verified = true },
        ["carol"] = new { email = "carol@example.com", email_verified = false },
        ["dave"] = new { },
    };

    private static async Task<(PortalHarness Harness, OidcProvider Provider)> StartAsync(bool trustEmail = false, FakeTime? time = null, bool endSession = false)
    {
        var port = OidcProvider.PickPort();
        var h = await PortalHarness.StartAsync(time, sso: new SingleSignOnOptions
        {
            Issuer = OidcProvider.Issuer(port),
            ClientId = OidcProvider.ClientId,
            ClientSecret = OidcProvider.ClientSecret,
            Name = "Staff Login",
            TrustEmail = trustEmail,
            EndSession = endSession,
        });
        try
        {
            return (h, await OidcProvider.StartAsync(port, h.Admin.Url + "/console/sso/callback", Accounts));
        }
        catch
        {
            await h.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task AConsoleUser_SignsInThroughTheProvider_WithTheirOwnRole_UntilTheyAreRemoved()
    {
        var (h, provider) = await StartAsync();
        await using var harness = h;
        await using var idp = provider;
        await ConsoleTests.CreateUserAsync(h, "alice@example.com", "viewer");

        using var browser = new Browser(h.Admin.Url);
        var login = await browser.PageAsync("/console/login?returnUrl=%2Fconsole%2Faudit");
        Assert.Contains("href=\"/console/sso?returnUrl=%2Fconsole%2Faudit\">Sign in with Staff Login</a>", login, StringComparison.Ordinal);
        using (var signedIn = await SsoWalk.SignInAsync(browser, "alice", "/console/sso?returnUrl=%2Fconsole%2Faudit"))
        {
            Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
            Assert.Equal("/console/audit", signedIn.Headers.Location?.OriginalString);
        }

        var account = await browser.PageAsync("/console/account");
        Assert.Contains("Signed in as alice@example.com (role viewer)", account, StringComparison.Ordinal);
        // The answer's cookie was for one use: it is gone once the session is made.
        Assert.DoesNotContain(browser.Cookies.GetAllCookies(), c => c.Name == "gatehouse.console.sso");
        // The role is the console user's, not the provider's say: a viewer cannot change anything.
        using (var refused = await browser.PostAsync("/console/accounts/acc-x/approve", ("__RequestVerificationToken", Browser.TokenOf(account))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l.StartsWith("Console sign-in: alice@example.com (role viewer) from ", StringComparison.Ordinal)
                && l.EndsWith(" with single sign-on through " + IssuerOf(h), StringComparison.Ordinal));
        }

        // console.twoStepRequired does not hold a session made through the provider (it answers for its own second
        // factor), while the same user signing in with a password is sent to set two-step sign-in up.
        using (var admin = h.AdminClient())
        using (var required = await admin.PutAsync("/admin/console/settings", new StringContent("{\"twoStepRequired\":true}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, required.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(browser));
        using (var withPassword = await ConsoleTwoStepTests.SignInAsync(h, "alice@example.com", expectPending: false))
        {
            using var sent = await withPassword.GetAsync("/console/pending");
            Assert.Equal("/console/account#two-step", sent.Headers.Location?.OriginalString);
        }

        // Removed from the console, the session made through the provider ends at its next request, like any other.
        using (var admin = h.AdminClient())
        using (var deleted = await admin.DeleteAsync("/admin/users/alice@example.com"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser));
    }

    private static string IssuerOf(PortalHarness h) => h.Admin.Options.Sso!.Issuer;

    [Fact]
    public async Task TheProvider_CannotLetIn_AnAddressWithNoConsoleUser_AnUnverifiedAddress_OrNoAddress()
    {
        var (h, provider) = await StartAsync();
        await using var harness = h;
        await using var idp = provider;
        await ConsoleTests.CreateUserAsync(h, "carol@example.com", "admin");

        foreach (var (login, says) in ((string, string)[])[
            ("bob", "Staff Login signed you in as bob@example.com, but the console has no user with that address."),
            ("carol", "Staff Login has not verified the address carol@example.com"),
            ("dave", "Staff Login did not give an email address")])
        {
            using var browser = new Browser(h.Admin.Url);
            using var refused = await SsoWalk.SignInAsync(browser, login);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains(WebUtility.HtmlEncode(says), await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser));
        }

        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l.StartsWith("Console sign-in refused: bob@example.com from ", StringComparison.Ordinal));
            Assert.Contains(h.Logs, l => l.StartsWith("Console sign-in refused: carol@example.com from ", StringComparison.Ordinal));
            Assert.DoesNotContain(h.Logs, l => l.StartsWith("Console sign-in: ", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// A console user is bound to the provider identity (issuer and subject) they first came with: when the provider
    /// gives their address to someone else, that person is refused until an administrator releases the user; when the
    /// user's own address changes there, they are still found.
    /// </summary>
    [Fact]
    public async Task AConsoleUser_IsBoundToTheirIdentityAtTheProvider_NotToTheAddress()
    {
        var (h, provider) = await StartAsync();
        await using var harness = h;
        await using var idp = provider;
        await ConsoleTests.CreateUserAsync(h, "alice@example.com", "admin");
        using (var first = new Browser(h.Admin.Url))
        using (var signedIn = await SsoWalk.SignInAsync(first, "alice"))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        }

        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 5), c => c.Action == "sso-link" && c.Name == "console-user:alice@example.com" && c.After!.Contains("\"subject\":\"alice\"", StringComparison.Ordinal));

        // The provider gives alice's address to mallory: mallory is not alice.
        provider.SetAccounts(new Dictionary<string, object>(Accounts) { ["mallory"] = new { email = "alice@example.com", email_verified = true } });
        using (var mallory = new Browser(h.Admin.Url))
        {
            using var refused = await SsoWalk.SignInAsync(mallory, "mallory");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("belongs to another Staff Login account", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(mallory));
        }

        // Alice's own address changes at the provider: she is still alice here.
        provider.SetAccounts(new Dictionary<string, object>(Accounts) { ["alice"] = new { email = "alice@new.example.com", email_verified = true } });
        using (var again = new Browser(h.Admin.Url))
        {
            using (var signedIn = await SsoWalk.SignInAsync(again, "alice"))
            {
                Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            }

            Assert.Contains("Signed in as alice@example.com (role admin)", await again.PageAsync("/console/account"), StringComparison.Ordinal);
        }

        // An administrator releases the user (the address is mallory's now), from the Access page: mallory's next
        // sign-in binds it. (The admin API's release is below.)
        provider.SetAccounts(new Dictionary<string, object>(Accounts) { ["mallory"] = new { email = "alice@example.com", email_verified = true } });
        using (var console = new Browser(h.Admin.Url))
        {
            using (var signedIn = await console.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken)))
            {
                Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            }

            var access = await console.PageAsync("/console/access");
            Assert.Contains("<td>bound</td>", access, StringComparison.Ordinal);
            using var released = await console.PostAsync("/console/access/users/alice%40example.com/sso/release", ("confirm", "yes"), ("__RequestVerificationToken", Browser.TokenOf(access)));
            Assert.Equal(HttpStatusCode.Redirect, released.StatusCode);
            Assert.Contains("<td>not bound</td>", await console.PageAsync("/console/access"), StringComparison.Ordinal);
        }

        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 5), c => c.Action == "sso-unlink" && c.Actor == "console:admin-token");

        using (var mallory = new Browser(h.Admin.Url))
        {
            using var signedIn = await SsoWalk.SignInAsync(mallory, "mallory");
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(mallory));
        }

        using (var old = new Browser(h.Admin.Url))
        using (var refused = await SsoWalk.SignInAsync(old, "alice"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var admin = h.AdminClient())
        {
            // The admin API's release says whether there was a binding.
            using var released = await admin.DeleteAsync("/admin/users/alice@example.com/sso");
            Assert.True((bool)System.Text.Json.Nodes.JsonNode.Parse(await released.Content.ReadAsStringAsync())!["released"]!);
            using var again = await admin.DeleteAsync("/admin/users/alice@example.com/sso");
            Assert.False((bool)System.Text.Json.Nodes.JsonNode.Parse(await again.Content.ReadAsStringAsync())!["released"]!);
        }

        using (var mallory = new Browser(h.Admin.Url))
        using (await SsoWalk.SignInAsync(mallory, "mallory"))
        {
        }

        // Deleting the user drops the binding: a user made again with the address is bound afresh.
        using (var admin = h.AdminClient())
        using (var deleted = await admin.DeleteAsync("/admin/users/alice@example.com"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        await ConsoleTests.CreateUserAsync(h, "alice@example.com", "viewer");
        using (var fresh = new Browser(h.Admin.Url))
        using (var signedIn = await SsoWalk.SignInAsync(fresh, "alice"))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        }
    }

    [Fact]
    public async Task WithTrustEmail_AnAddressWithoutTheVerifiedClaim_IsTaken()
    {
        var (h, provider) = await StartAsync(trustEmail: true);
        await using var harness = h;
        await using var idp = provider;
        await ConsoleTests.CreateUserAsync(h, "carol@example.com", "admin");
        using var browser = new Browser(h.Admin.Url);
        using var signedIn = await SsoWalk.SignInAsync(browser, "carol");
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/console/pending", signedIn.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(browser));
    }

    // A console admin who turned two-step sign-in on (signed in with a password); the authenticator's key.
    private static async Task<string> AdminWithTwoStepAsync(PortalHarness h, FakeTime time, string email)
    {
        await ConsoleTests.CreateUserAsync(h, email, "admin");
        using var withPassword = await ConsoleTwoStepTests.SignInAsync(h, email);
        return (await ConsoleTwoStepTests.TurnOnAsync(withPassword, time)).Key;
    }

    // The second step's form (page) answered with the authenticator's code 30 s on: signed in.
    private static async Task SecondStepAsync(Browser browser, string page, string key, FakeTime time)
    {
        time.Advance(TimeSpan.FromSeconds(30));
        using var signed = await browser.PostAsync("/console/login/code",
            ("ticket", System.Text.RegularExpressions.Regex.Match(page, "name=\"ticket\" value=\"([^\"]+)\"").Groups[1].Value),
            ("code", ConsoleTwoStepTests.Totp(key, time.GetUtcNow())), ("__RequestVerificationToken", Browser.TokenOf(page)));
        Assert.Equal(HttpStatusCode.Redirect, signed.StatusCode);
    }

    /// <summary>
    /// With <c>--console-oidc-end-session</c>, a console user who came through the provider (here with two-step sign-in
    /// after it, so the ID token travels through the second step's ticket) and signs out is signed out at the provider
    /// too, and comes back to the console's sign-in page; the next single sign-on asks for the provider's sign-in.
    /// </summary>
    [Fact]
    public async Task WithEndSession_SigningOut_EndsTheProvidersSession_AfterTwoStepSignInToo()
    {
        var time = new FakeTime();
        var (h, provider) = await StartAsync(time: time, endSession: true);
        await using var harness = h;
        await using var idp = provider;
        var key = await AdminWithTwoStepAsync(h, time, "bob@example.com");

        using var browser = new Browser(h.Admin.Url);
        using var second = await SsoWalk.SignInAsync(browser, "bob");
        var page = await second.Content.ReadAsStringAsync();
        await SecondStepAsync(browser, page, key, time);

        var pending = await browser.PageAsync("/console/pending");
        using var signOut = await browser.PostAsync("/console/logout", ("__RequestVerificationToken", Browser.TokenOf(pending)));
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        var location = signOut.Headers.Location!;
        Assert.Equal("/session/end", location.AbsolutePath);
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(location.Query);
        Assert.Equal(h.Admin.Url + "/console/sso/signed-out", query["post_logout_redirect_uri"].ToString());
        Assert.Equal(3, query["id_token_hint"].ToString().Split('.').Length);
        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser)); // signed out of the console already

        var back = await SsoWalk.ConfirmProviderSignOutAsync(browser, location);
        Assert.StartsWith(h.Admin.Url + "/console/sso/signed-out?", back.AbsoluteUri, StringComparison.Ordinal);
        using (var login = await browser.Client.GetAsync(back))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
            Assert.Equal("/console/login", login.Headers.Location?.OriginalString);
        }

        Assert.True(await SsoWalk.ProviderAsksToSignInAsync(browser, "/console/sso", "/console/sso/callback"));
    }

    [Fact]
    public async Task AUserWithTwoStepSignIn_IsAskedForTheirCode_AfterTheProvider()
    {
        var time = new FakeTime();
        var (h, provider) = await StartAsync(time: time);
        await using var harness = h;
        await using var idp = provider;
        var key = await AdminWithTwoStepAsync(h, time, "bob@example.com");

        using var browser = new Browser(h.Admin.Url);
        using var second = await SsoWalk.SignInAsync(browser, "bob");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var page = await second.Content.ReadAsStringAsync();
        Assert.Contains("authenticator app", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser)); // not in on the provider alone

        await SecondStepAsync(browser, page, key, time);

        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(browser));
        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l.StartsWith("Console sign-in: bob@example.com (role admin) from ", StringComparison.Ordinal)
                && l.EndsWith(" with single sign-on and an authenticator code", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ACancelledSignIn_AndAForgedAnswer_AreRefusedWithAPage()
    {
        var (h, provider) = await StartAsync();
        await using var harness = h;
        await using var idp = provider;
        await ConsoleTests.CreateUserAsync(h, "alice@example.com", "admin");

        using var browser = new Browser(h.Admin.Url);
        using (var cancelled = await SsoWalk.SignInAsync(browser, "alice", cancel: true))
        {
            Assert.Equal(HttpStatusCode.Forbidden, cancelled.StatusCode);
            Assert.Contains("Staff Login did not sign you in (it was cancelled or refused there).", await cancelled.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // An answer this browser did not ask for (no state of its own): a page, no session, no stack trace.
        using (var forged = await browser.GetAsync("/console/sso/callback?code=stolen&state=forged&iss=" + Uri.EscapeDataString(IssuerOf(h))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
            var page = await forged.Content.ReadAsStringAsync();
            Assert.Contains("Staff Login&#x27;s answer could not be used", page, StringComparison.Ordinal);
            Assert.DoesNotContain(" at Microsoft.", page, StringComparison.Ordinal);
        }

        // Arriving at the last step without an answer just leads back to the sign-in page.
        using (var bare = await browser.GetAsync("/console/sso/done"))
        {
            Assert.Equal(HttpStatusCode.Redirect, bare.StatusCode);
            Assert.Equal("/console/login", bare.Headers.Location?.OriginalString);
        }

        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser));
        lock (h.Logs)
        {
            Assert.Equal(2, h.Logs.Count(l => l.StartsWith("Console single sign-on failed from ", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task AProviderThatCannotBeReached_IsAPlainPage_AndPasswordsStillWork()
    {
        // Nothing listens on the provider's port: its discovery document cannot be read.
        await using var h = await PortalHarness.StartAsync(sso: new SingleSignOnOptions
        {
            Issuer = OidcProvider.Issuer(OidcProvider.PickPort()),
            ClientId = OidcProvider.ClientId,
            Name = "Staff Login",
        });
        await ConsoleTests.CreateUserAsync(h, "alice@example.com", "admin");
        using var browser = new Browser(h.Admin.Url);
        using (var down = await browser.GetAsync("/console/sso"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, down.StatusCode);
            var page = await down.Content.ReadAsStringAsync();
            Assert.Contains("Staff Login cannot be reached", page, StringComparison.Ordinal);
            Assert.DoesNotContain(" at Microsoft.", page, StringComparison.Ordinal);
        }

        using (await ConsoleTwoStepTests.SignInAsync(h, "alice@example.com"))
        {
            // signed in with the password (it asserts the console's Pending page opens)
        }

        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l.StartsWith("Console single sign-on failed from ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task WithOnly_ConsoleUsersSignInThroughTheProviderAlone_AndTheAdminTokenStillWorks()
    {
        var port = OidcProvider.PickPort();
        await using var h = await PortalHarness.StartAsync(sso: new SingleSignOnOptions
        {
            Issuer = OidcProvider.Issuer(port), ClientId = OidcProvider.ClientId, ClientSecret = OidcProvider.ClientSecret, Name = "Staff Login", Only = true,
        });
        await using var idp = await OidcProvider.StartAsync(port, h.Admin.Url + "/console/sso/callback", Accounts);
        await ConsoleTests.CreateUserAsync(h, "alice@example.com", "admin");

        using var browser = new Browser(h.Admin.Url);
        var login = await browser.PageAsync("/console/login");
        Assert.DoesNotContain("name=\"email\"", login, StringComparison.Ordinal);
        Assert.Contains("The admin token", login, StringComparison.Ordinal);
        Assert.DoesNotContain("/console/reset", login, StringComparison.Ordinal);
        using (var password = await browser.SubmitAsync("/console/login", "/console/login", ("email", "alice@example.com"), ("password", "a console pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, password.StatusCode);
            Assert.Contains("Here you sign in with Staff Login: passwords are not used.", await password.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser));
        foreach (var path in (string[])["/console/reset", "/console/reset/some-token", "/console/welcome/some-token"])
        {
            using var page = await browser.GetAsync(path);
            Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        }

        using (var token = await browser.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken)))
        {
            Assert.Equal(HttpStatusCode.Redirect, token.StatusCode);
        }

        using var other = new Browser(h.Admin.Url);
        using (var signedIn = await SsoWalk.SignInAsync(other, "alice"))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        }

        var account = await other.PageAsync("/console/account");
        using var change = await other.PostAsync("/console/account/password", ("current", "x"), ("password", "a brand new pass phrase"), ("__RequestVerificationToken", Browser.TokenOf(account)));
        Assert.Equal(HttpStatusCode.Forbidden, change.StatusCode);

        // An invitation has no password to choose: it says where to sign in, and with what.
        using (var admin = h.AdminClient())
        using (var invited = await admin.PostAsync("/admin/users/bob@example.com/invite", null))
        {
            Assert.Equal(HttpStatusCode.Created, invited.StatusCode);
            var answer = System.Text.Json.Nodes.JsonNode.Parse(await invited.Content.ReadAsStringAsync())!;
            Assert.Equal(h.Admin.Url + "/console/login", (string)answer["link"]!);
            Assert.Null(answer["expiresAt"]);
        }

        var mail = Assert.Single(await h.MailsToAsync("bob@example.com", 1));
        Assert.Contains($"Sign in with Staff Login at:\n{h.Admin.Url}/console/login", (mail.TextBody ?? "").ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("/console/welcome/", mail.TextBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutSingleSignOn_TheConsoleHasNoLinkAndNoEndpoint()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = new Browser(h.Admin.Url);
        Assert.DoesNotContain("/console/sso", await browser.PageAsync("/console/login"), StringComparison.Ordinal);
        using var sso = await browser.GetAsync("/console/sso");
        Assert.Equal(HttpStatusCode.NotFound, sso.StatusCode);
    }

    [Theory]
    [InlineData("http://idp.example.com", "is plain http to another machine")]
    [InlineData("ftp://idp.example.com", "is not an issuer URL")]
    [InlineData("https://idp.example.com/?x=1", "is not an issuer URL")]
    [InlineData("idp.example.com", "is not an issuer URL")]
    public void AnIssuerThatCannotWork_IsOneLine(string issuer, string says)
    {
        var e = Assert.Throws<ArgumentException>(() => SingleSignOnOptions.Checked(new SingleSignOnOptions { Issuer = issuer, ClientId = "c" }));
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void AClientId_IsRequired_AndLoopbackHttp_IsAllowed()
    {
        var e = Assert.Throws<ArgumentException>(() => SingleSignOnOptions.Checked(new SingleSignOnOptions { Issuer = "https://idp.example.com", ClientId = " " }));
        Assert.Contains("--console-oidc-client-id", e.Message, StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:8080/realms/staff", SingleSignOnOptions.Checked(new SingleSignOnOptions { Issuer = "http://127.0.0.1:8080/realms/staff/", ClientId = "c" }).Issuer);
        Assert.Equal("http://[::1]:8080", SingleSignOnOptions.Checked(new SingleSignOnOptions { Issuer = "http://[::1]:8080", ClientId = "c" }).Issuer);
        Assert.Equal("http://localhost:8080", SingleSignOnOptions.Checked(new SingleSignOnOptions { Issuer = "http://localhost:8080", ClientId = "c" }).Issuer);
    }
}
