using System.Net;
using System.Text;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Web;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Consumers signing up and in to the portal through a real OpenID Connect provider (oidc-provider in a child process):
/// an account is made for a verified address that has none (no password), the same account is found the next time,
/// its key works at the gateway, and the portal's rules still hold: approval, suspension, two-step sign-in. An account
/// whose password nobody proved to be the owner's is not taken over (pre-hijacking).
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalSsoTests
{
    private static readonly Dictionary<string, object> Accounts = new()
    {
        ["erin"] = new { email = "erin@example.com", email_verified = true, name = "Erin's Shop" },
        ["frank"] = new { email = "frank@example.com", email_verified = true, name = "Frank" },
        ["gina"] = new { email = "gina@example.com", email_verified = true },
        ["hank"] = new { email = "hank@example.com", email_verified = false },
        ["ivy"] = new { email = "ivy@example.com", email_verified = true },
    };

    private static async Task<(PortalHarness Harness, OidcProvider Provider)> StartAsync(bool endSession = false, bool providerEndsSessions = true)
    {
        var port = OidcProvider.PickPort();
        var h = await PortalHarness.StartAsync(portalOptions: o => o with
        {
            Sso = new SingleSignOnOptions
            {
                Issuer = OidcProvider.Issuer(port),
                ClientId = OidcProvider.ClientId,
                ClientSecret = OidcProvider.ClientSecret,
                Name = "Example ID",
                Options = "--portal-oidc",
                EndSession = endSession,
            },
        });
        try
        {
            return (h, await OidcProvider.StartAsync(port, h.Portal.Url + "/sso/callback", Accounts, providerEndsSessions));
        }
        catch
        {
            await h.DisposeAsync();
            throw;
        }
    }

    private static Task<HttpResponseMessage> SignInAsync(Browser browser, string login, string start = "/sso") =>
        SsoWalk.SignInAsync(browser, login, start, root: "");

    // Signs in through the provider as login, then presses Sign out: the sign-out's answer (a redirect).
    private static async Task<HttpResponseMessage> SignInThenOutAsync(Browser browser, string login)
    {
        using (var signedIn = await SignInAsync(browser, login))
        {
            Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
        }

        var apps = await browser.PageAsync("/apps");
        var signOut = await browser.PostAsync("/logout", ("__RequestVerificationToken", Browser.TokenOf(apps)));
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        return signOut;
    }

    /// <summary>
    /// With <c>--portal-oidc-end-session</c>, signing out after single sign-on ends the provider's session too
    /// (RP-initiated logout): the provider gets the ID token as the hint, the client id and the portal's own return
    /// address, asks, and the browser comes back to the home page; the next single sign-on asks for the provider's
    /// sign-in again. Without the option (the default) the sign-out is the portal's alone, and the provider's session
    /// lets the next single sign-on through without asking.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SigningOut_EndsTheProvidersSessionToo_OnlyWithEndSession(bool endSession)
    {
        var (h, provider) = await StartAsync(endSession);
        await using var harness = h;
        await using var idp = provider;
        using var browser = h.NewBrowser();
        using var signOut = await SignInThenOutAsync(browser, "ivy");
        var location = signOut.Headers.Location!;
        if (!endSession)
        {
            Assert.Equal("/", location.OriginalString);
        }
        else
        {
            Assert.Equal("127.0.0.1", location.Host);
            Assert.NotEqual(new Uri(h.Portal.Url).Port, location.Port); // the provider's end-session endpoint
            Assert.Equal("/session/end", location.AbsolutePath);
            var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(location.Query);
            Assert.Equal(OidcProvider.ClientId, query["client_id"].ToString());
            Assert.Equal(h.Portal.Url + "/sso/signed-out", query["post_logout_redirect_uri"].ToString());
            Assert.Equal(3, query["id_token_hint"].ToString().Split('.').Length); // a JWT
            // The token leaves the sign-out's properties before they become the state: a state that carried it would be longer.
            Assert.InRange(query["state"].ToString().Length, 1, query["id_token_hint"].ToString().Length - 1);

            // The provider asks; the answer is yes, and it sends the browser back through the portal's signed-out path.
            var back = await SsoWalk.ConfirmProviderSignOutAsync(browser, location);
            Assert.StartsWith(h.Portal.Url + "/sso/signed-out?", back.AbsoluteUri, StringComparison.Ordinal);
            using var home = await browser.Client.GetAsync(back);
            Assert.Equal(HttpStatusCode.Redirect, home.StatusCode);
            Assert.Equal("/", home.Headers.Location?.OriginalString);
        }

        // Signed out of the portal either way.
        using (var gone = await browser.GetAsync("/apps"))
        {
            Assert.Equal(HttpStatusCode.Redirect, gone.StatusCode);
            Assert.StartsWith("/login", gone.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }

        Assert.Equal(endSession, await SsoWalk.ProviderAsksToSignInAsync(browser, "/sso", "/sso/callback"));
    }

    /// <summary>
    /// A provider that offers no end-session endpoint (some do not): the sign-out is the portal's alone, as without the
    /// option, and the log says why, never an error page.
    /// </summary>
    [Fact]
    public async Task WithEndSession_AProviderWithoutAnEndSessionEndpoint_SignsOutOfThePortalOnly_AndSaysSo()
    {
        var (h, provider) = await StartAsync(endSession: true, providerEndsSessions: false);
        await using var harness = h;
        await using var idp = provider;
        using var browser = h.NewBrowser();
        using (var signOut = await SignInThenOutAsync(browser, "ivy"))
        {
            Assert.Equal("/", signOut.Headers.Location?.OriginalString);
        }

        using (var gone = await browser.GetAsync("/apps"))
        {
            Assert.Equal(HttpStatusCode.Redirect, gone.StatusCode);
        }

        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l.StartsWith("Portal sign-out at the single sign-on provider http://127.0.0.1:", StringComparison.Ordinal)
                && l.Contains("was not done (signed out of the portal only)", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AConsumer_SignsUpThroughTheProvider_GetsAWorkingKey_AndComesBackToTheSameAccount()
    {
        var (h, provider) = await StartAsync();
        await using var harness = h;
        await using var idp = provider;

        using var browser = h.NewBrowser();
        var login = await browser.PageAsync("/login?returnUrl=%2Fapps%2Fnew");
        Assert.Contains("href=\"/sso?returnUrl=%2Fapps%2Fnew\">Sign in with Example ID</a>", login, StringComparison.Ordinal);
        Assert.Contains("href=\"/sso\">Sign up with Example ID</a>", await browser.PageAsync("/signup"), StringComparison.Ordinal);
        using (var signedIn = await SignInAsync(browser, "erin", "/sso?returnUrl=%2Fapps%2Fnew"))
        {
            Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
            Assert.Equal("/apps/new", signedIn.Headers.Location?.OriginalString);
        }

        var account = await h.Store.FindAccountByEmailAsync("erin@example.com");
        Assert.NotNull(account);
        Assert.Null(account.PasswordHash); // nothing to guess, nothing hashed
        Assert.Equal(AccountState.Active, account.State);
        Assert.Equal("Erin's Shop", account.Title); // the provider's name claim
        var (_, key) = await PortalHarness.CreateAppAsync(browser, "retail");
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key));

        // Next time, in another browser: the same account, not a second one.
        using var again = h.NewBrowser();
        using (var back = await SignInAsync(again, "erin"))
        {
            Assert.Equal("/apps", back.Headers.Location?.OriginalString);
        }

        Assert.Contains("Shop", await again.PageAsync("/apps"), StringComparison.Ordinal);
        Assert.Equal(account.Id, (await h.Store.FindAccountByEmailAsync("erin@example.com"))!.Id);
        lock (h.Logs)
        {
            Assert.Single(h.Logs, l => l.StartsWith($"Portal sign-up through single sign-on: erin@example.com ({account.Id}) through http://127.0.0.1:", StringComparison.Ordinal));
        }

        // The account page's forms that take the password say plainly that there is none (nothing is counted or hashed).
        var page = await again.PageAsync("/account");
        using var delete = await again.PostAsync("/account/delete", ("confirm", "yes"), ("password", "anything at all here"), ("__RequestVerificationToken", Browser.TokenOf(page)));
        Assert.Equal(HttpStatusCode.Unauthorized, delete.StatusCode);
        Assert.Contains("This account has no password: it signs in through single sign-on.", WebUtility.HtmlDecode(await delete.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        Assert.NotNull(await h.Store.FindAccountByEmailAsync("erin@example.com"));
    }

    [Fact]
    public async Task AnAccount_IsBoundToTheIdentityItWasMadeWith_UntilAnAdministratorReleasesIt()
    {
        var (h, provider) = await StartAsync();
        await using var harness = h;
        await using var idp = provider;
        using (var browser = h.NewBrowser())
        using (await SignInAsync(browser, "erin"))
        {
        }

        var erin = (await h.Store.FindAccountByEmailAsync("erin@example.com"))!;
        provider.SetAccounts(new Dictionary<string, object>(Accounts) { ["mallory"] = new { email = "erin@example.com", email_verified = true } });
        using (var mallory = h.NewBrowser())
        {
            using var refused = await SignInAsync(mallory, "mallory");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("belongs to another Example ID account", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Redirect, (await mallory.GetAsync("/apps")).StatusCode);
        }

        using (var admin = h.AdminClient())
        {
            using var missing = await admin.DeleteAsync("/admin/portal/accounts/acc-nobody/sso");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        // Released from the console's Accounts page.
        using (var console = new Browser(h.Admin.Url))
        {
            using (var signedIn = await console.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken)))
            {
                Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            }

            var accounts = await console.PageAsync("/console/accounts");
            Assert.Contains($"/console/accounts/{erin.Id}/sso/release", accounts, StringComparison.Ordinal);
            using var released = await console.PostAsync($"/console/accounts/{erin.Id}/sso/release", ("confirm", "yes"), ("__RequestVerificationToken", Browser.TokenOf(accounts)));
            Assert.Equal(HttpStatusCode.Redirect, released.StatusCode);
            Assert.DoesNotContain($"/console/accounts/{erin.Id}/sso/release", await console.PageAsync("/console/accounts"), StringComparison.Ordinal);
        }

        using (var mallory = h.NewBrowser())
        {
            using var signedIn = await SignInAsync(mallory, "mallory");
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            Assert.Contains("erin@example.com", await mallory.PageAsync("/account"), StringComparison.Ordinal);
        }

        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 10), c => c.Action == "sso-unlink" && c.Name == erin.Id && c.Actor == "console:admin-token");

        // The admin API's release, too (the account is bound to mallory's identity now).
        using (var admin = h.AdminClient())
        using (var released = await admin.DeleteAsync($"/admin/portal/accounts/{erin.Id}/sso"))
        {
            Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        }

        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 10), c => c.Action == "sso-unlink" && c.Name == erin.Id && c.Actor == "admin-api");
    }

    [Fact]
    public async Task ThePortalsRules_Hold_ForAccountsFromTheProvider()
    {
        var (h, provider) = await StartAsync();
        await using var harness = h;
        await using var idp = provider;
        using var admin = h.AdminClient();

        // Accounts that need approval: made pending, like a sign-up with a password.
        using (var approval = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"accountApproval":true}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, approval.StatusCode);
        }

        using (var browser = h.NewBrowser())
        using (var pending = await SignInAsync(browser, "gina"))
        {
            Assert.Equal(HttpStatusCode.Redirect, pending.StatusCode);
        }

        var gina = (await h.Store.FindAccountByEmailAsync("gina@example.com"))!;
        Assert.Equal(AccountState.Pending, gina.State);
        Assert.Equal("gina@example.com", gina.Title); // no name claim: the address

        // A suspended account stays out.
        using (var browser = h.NewBrowser())
        using (await SignInAsync(browser, "ivy"))
        {
        }

        var ivy = (await h.Store.FindAccountByEmailAsync("ivy@example.com"))!;
        using (var reject = await admin.PostAsync($"/admin/portal/accounts/{ivy.Id}/reject", null)) // pending, so rejected: suspended
        {
            Assert.Equal(HttpStatusCode.OK, reject.StatusCode);
        }

        using (var browser = h.NewBrowser())
        {
            using var refused = await SignInAsync(browser, "ivy");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("is suspended", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/apps")).StatusCode);
        }

        // An address the provider has not verified is nobody's.
        using (var browser = h.NewBrowser())
        {
            using var unverified = await SignInAsync(browser, "hank");
            Assert.Equal(HttpStatusCode.Forbidden, unverified.StatusCode);
            Assert.Contains("Example ID has not verified the address hank@example.com", await unverified.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Null(await h.Store.FindAccountByEmailAsync("hank@example.com"));
        }

        // portal.twoStepRequired does not hold a session made through the provider (it answers for its own second
        // factor; the account has no password to set two-step sign-in up with).
        using (var required = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"accountApproval":false,"twoStepRequired":true}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, required.StatusCode);
        }

        using (var browser = h.NewBrowser())
        {
            using (await SignInAsync(browser, "erin"))
            {
            }

            using var apps = await browser.GetAsync("/apps");
            Assert.Equal(HttpStatusCode.OK, apps.StatusCode);
        }
    }

    [Fact]
    public async Task APasswordNobodyProvedToBeTheOwners_IsNotTakenOver()
    {
        var (h, provider) = await StartAsync();
        await using var harness = h;
        await using var idp = provider;

        // emailVerification off: someone signed up as frank@ with a password; that account signs in with it, and the
        // provider's Frank is told so rather than joined to it (whoever typed the password may not be Frank).
        using (var someone = await h.ConsumerAsync("frank@example.com", "a password someone else chose"))
        {
        }

        using (var browser = h.NewBrowser())
        {
            using var refused = await SignInAsync(browser, "frank");
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("already has an account here that signs in with a password", WebUtility.HtmlDecode(await refused.Content.ReadAsStringAsync()), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/apps")).StatusCode);
        }

        // emailVerification on: a sign-up waiting for its mailed link is confirmed by the provider, and the password
        // given at that sign-up is dropped, so that its author (not the address's owner) cannot sign in with it.
        using var admin = h.AdminClient();
        using (var verification = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"emailVerification":true}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, verification.StatusCode);
        }

        using (var attacker = h.NewBrowser())
        using (var signup = await attacker.SubmitAsync("/signup", "/signup", ("email", "gina@example.com"), ("title", "Not Gina"), ("password", "the attacker's own pass phrase")))
        {
            Assert.Equal(HttpStatusCode.OK, signup.StatusCode);
        }

        await Gatehouse.Gateway.Tests.Infrastructure.Wait.UntilAsync(async () => await h.Store.FindAccountByEmailAsync("gina@example.com") is { State: AccountState.Unverified },
            "the unconfirmed sign-up");
        using (var browser = h.NewBrowser())
        using (var signedIn = await SignInAsync(browser, "gina"))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/apps")).StatusCode);
        }

        var gina = (await h.Store.FindAccountByEmailAsync("gina@example.com"))!;
        Assert.Equal(AccountState.Active, gina.State);
        Assert.Null(gina.PasswordHash);
        using var thief = h.NewBrowser();
        using var stolen = await thief.SubmitAsync("/login", "/login", ("email", "gina@example.com"), ("password", "the attacker's own pass phrase"));
        Assert.Equal(HttpStatusCode.Unauthorized, stolen.StatusCode);
    }

    [Fact]
    public async Task WithOnly_NobodySignsUpOrInWithAPassword()
    {
        var port = OidcProvider.PickPort();
        await using var h = await PortalHarness.StartAsync(portalOptions: o => o with
        {
            Sso = new SingleSignOnOptions { Issuer = OidcProvider.Issuer(port), ClientId = OidcProvider.ClientId, ClientSecret = OidcProvider.ClientSecret, Name = "Example ID", Only = true },
        });
        await using var idp = await OidcProvider.StartAsync(port, h.Portal.Url + "/sso/callback", Accounts);

        using var browser = h.NewBrowser();
        foreach (var path in (string[])["/signup", "/login"])
        {
            var page = await browser.PageAsync(path);
            Assert.Contains("with Example ID</a>", page, StringComparison.Ordinal);
            Assert.DoesNotContain("name=\"password\"", page, StringComparison.Ordinal);
        }

        using (var signup = await browser.SubmitAsync("/login", "/signup", ("email", "pat@example.com"), ("title", "Pat"), ("password", "a long enough pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, signup.StatusCode);
        }

        Assert.Null(await h.Store.FindAccountByEmailAsync("pat@example.com"));
        using (var login = await browser.SubmitAsync("/login", "/login", ("email", "pat@example.com"), ("password", "a long enough pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, login.StatusCode);
        }

        using (var reset = await browser.GetAsync("/reset"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, reset.StatusCode);
        }

        using (var signedIn = await SignInAsync(browser, "erin"))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/apps")).StatusCode);
    }

    [Fact]
    public async Task AProviderThatCannotBeReached_IsAPlainPage_AndPasswordsStillWork()
    {
        // Nothing listens on the provider's port: its discovery document cannot be read.
        await using var h = await PortalHarness.StartAsync(portalOptions: o => o with
        {
            Sso = new SingleSignOnOptions { Issuer = OidcProvider.Issuer(OidcProvider.PickPort()), ClientId = OidcProvider.ClientId, Name = "Example ID" },
        });
        using var browser = h.NewBrowser();
        using (var down = await browser.GetAsync("/sso"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, down.StatusCode);
            var page = await down.Content.ReadAsStringAsync();
            Assert.Contains("Example ID cannot be reached at the moment; try again shortly, or sign in with your email and password.", page, StringComparison.Ordinal);
            Assert.DoesNotContain(" at Microsoft.", page, StringComparison.Ordinal);
        }

        using (await h.ConsumerAsync("pat@example.com"))
        {
            // signed up and in with a password (it asserts both)
        }

        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l.StartsWith("Portal single sign-on failed from ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task TwoStepSignIn_IsAskedForAfterTheProvider()
    {
        var time = new FakeTime();
        var port = OidcProvider.PickPort();
        await using var h = await PortalHarness.StartAsync(time, portalOptions: o => o with
        {
            Sso = new SingleSignOnOptions { Issuer = OidcProvider.Issuer(port), ClientId = OidcProvider.ClientId, ClientSecret = OidcProvider.ClientSecret, Name = "Example ID" },
        });
        await using var idp = await OidcProvider.StartAsync(port, h.Portal.Url + "/sso/callback", Accounts);

        // frank has a password and two-step sign-in, and the portal confirms addresses (so the provider may sign him in).
        string key;
        using (var owner = await h.ConsumerAsync("frank@example.com"))
        {
            key = await PortalTwoStepTests.TurnOnAsync(owner, time);
        }

        using (var admin = h.AdminClient())
        using (var verification = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"emailVerification":true}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, verification.StatusCode);
        }

        using var browser = h.NewBrowser();
        using var second = await SignInAsync(browser, "frank");
        var page = await second.Content.ReadAsStringAsync();
        Assert.True(second.StatusCode == HttpStatusCode.OK, page);
        Assert.Contains("authenticator app", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/apps")).StatusCode);
        time.Advance(TimeSpan.FromSeconds(30));
        using (var signed = await browser.PostAsync("/login/code",
            ("ticket", System.Text.RegularExpressions.Regex.Match(page, "name=\"ticket\" value=\"([^\"]+)\"").Groups[1].Value),
            ("code", Rfc6238.Code(key, time.GetUtcNow())), ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.Redirect, signed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/apps")).StatusCode);
    }
}
