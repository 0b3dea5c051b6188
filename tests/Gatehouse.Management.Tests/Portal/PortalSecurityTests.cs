using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Operations;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>Issue #18, "Bad input and attacks": each one against the real portal, store and gateway.</summary>
[Trait("Issue", "18")]
public sealed class PortalSecurityTests
{
    [Fact]
    public async Task PlanDocuments_RetailIsValidReadOnly_HiddenIs404_ConsoleRedirectsToLogin()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = h.NewBrowser();
        using var retail = await browser.GetAsync("/plans/retail/openapi.json");
        Assert.Equal(HttpStatusCode.OK, retail.StatusCode);
        var text = await retail.Content.ReadAsStringAsync();
        var imported = OpenApiDocumentReader.Read(text, out var error);
        Assert.Null(error);
        Assert.Equal(["GET"], imported!.Operations.Select(o => o.Method).Distinct());
        Assert.Equal(h.Gateway.Urls[0], (string)JsonNode.Parse(text)!["servers"]![0]!["url"]!);
        using var yaml = await browser.GetAsync("/plans/retail/openapi.yaml");
        Assert.NotNull(OpenApiDocumentReader.Read(await yaml.Content.ReadAsStringAsync(), out _));
        using var wholesale = await browser.GetAsync("/plans/wholesale/openapi.json");
        Assert.Contains("PUT", OpenApiDocumentReader.Read(await wholesale.Content.ReadAsStringAsync(), out _)!.Operations.Select(o => o.Method));

        using var hidden = await browser.GetAsync("/plans/internal/openapi.json");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal("application/problem+json", hidden.Content.Headers.ContentType!.MediaType);
        var catalogue = await browser.PageAsync("/");
        Assert.DoesNotContain("internal", catalogue, StringComparison.Ordinal);
        // A plan's description is shown to people choosing one, in the catalogue and on its page, as text (never markup).
        Assert.Contains("Read and write &lt;b&gt;users&lt;/b&gt;", catalogue, StringComparison.Ordinal);
        Assert.Contains("Read and write &lt;b&gt;users&lt;/b&gt;", await browser.PageAsync("/plans/wholesale"), StringComparison.Ordinal);

        using var console = new Browser(h.Admin.Url);
        using var redirect = await console.GetAsync("/console");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/console/login?returnUrl=%2Fconsole", redirect.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task FormsWithoutAValidAntiforgeryToken_Get400_AndChangeNothing()
    {
        await using var h = await PortalHarness.StartAsync();
        using var attacker = h.NewBrowser();
        using var missing = await attacker.PostAsync("/signup", ("email", "csrf@example.com"), ("title", "x"), ("password", "a long enough pass phrase"));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);

        // A token from another browser (the attacker's own page) does not fit the victim's cookie.
        using var victim = await h.ConsumerAsync("victim@example.com");
        var foreign = Browser.TokenOf(await attacker.PageAsync("/signup"));
        using var forged = await victim.PostAsync("/apps/new", ("title", "Forged"), ("plan", "retail"), ("__RequestVerificationToken", foreign));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        using var forgedConsole = await new Browser(h.Admin.Url).PostAsync("/console/login", ("password", PortalHarness.AdminToken));
        Assert.Equal(HttpStatusCode.BadRequest, forgedConsole.StatusCode);

        Assert.Null(await h.Store.FindAccountByEmailAsync("csrf@example.com"));
        var account = await h.Store.FindAccountByEmailAsync("victim@example.com");
        Assert.Empty(await h.Store.ListApplicationsAsync(account!.Id, null, null, 10));
    }

    [Fact]
    public async Task Cookies_AreHttpOnlyAndLax_AndSecureBehindHttps()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = h.NewBrowser();
        using var page = await browser.GetAsync("/login");
        var csrf = Assert.Single(page.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", csrf, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", csrf, StringComparison.OrdinalIgnoreCase);

        await h.ConsumerAsync("cookie@example.com");
        var token = Browser.TokenOf(await browser.PageAsync("/login"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("email", "cookie@example.com"), KeyValuePair.Create("password", "a long enough pass phrase"), KeyValuePair.Create("__RequestVerificationToken", token)]),
        };
        // As a TLS-terminating proxy on this machine would send it.
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var login = await browser.Client.SendAsync(request);
        var session = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("gatehouse.portal=", StringComparison.Ordinal));
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", session, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task StoredXss_InNamesTitlesAndDescriptions_IsRenderedInert_UnderAStrictPolicy()
    {
        await using var h = await PortalHarness.StartAsync();
        const string script = "<script>alert(1)</script>";
        const string image = "\"><img src=x onerror=alert(2)>";
        using var browser = h.NewBrowser();
        await browser.SubmitAsync("/signup", "/signup", ("email", "xss@example.com"), ("title", script), ("password", "a long enough pass phrase"));
        await browser.SubmitAsync("/login", "/login", ("email", "xss@example.com"), ("password", "a long enough pass phrase"));
        var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", image, "javascript:alert(3)");

        using var response = await browser.GetAsync($"/apps/{id}");
        var html = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);
        Assert.DoesNotContain("href=\"javascript:", html, StringComparison.Ordinal);
        Assert.Contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;", html, StringComparison.Ordinal);
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy.Split(';').Single(p => p.Trim().StartsWith("script-src", StringComparison.Ordinal)), StringComparison.Ordinal);

        // The console shows the same data, as inert.
        using var console = new Browser(h.Admin.Url);
        await console.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken));
        var listed = await console.PageAsync("/console/applications") + await console.PageAsync("/console/pending");
        Assert.DoesNotContain("<img src=x", listed, StringComparison.Ordinal);
        Assert.Contains("&lt;img src=x", listed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KnownAndUnknownEmails_GetTheSameAnswers_AtSignUpLogInAndReset()
    {
        await using var h = await PortalHarness.StartAsync();
        await h.ConsumerAsync("known@example.com");

        async Task<(HttpStatusCode, string)> Answer(string form, params (string, string)[] fields)
        {
            using var browser = h.NewBrowser();
            using var response = await browser.SubmitAsync(form, form, fields);
            var html = await response.Content.ReadAsStringAsync();
            // The page's own antiforgery token differs per request; nothing else may.
            var token = Browser.TokenOf(html);
            return (response.StatusCode, token.Length == 0 ? html : html.Replace(token, "TOKEN", StringComparison.Ordinal));
        }

        Assert.Equal(
            await Answer("/signup", ("email", "fresh@example.com"), ("title", "T"), ("password", "a long enough pass phrase")),
            await Answer("/signup", ("email", "known@example.com"), ("title", "T"), ("password", "a long enough pass phrase")));
        var unknownLogin = await Answer("/login", ("email", "nobody@example.com"), ("password", "wrong but long enough"));
        var wrongLogin = await Answer("/login", ("email", "known@example.com"), ("password", "wrong but long enough"));
        Assert.Equal(unknownLogin.Item1, wrongLogin.Item1);
        Assert.Equal(unknownLogin.Item2.Replace("nobody@example.com", "X", StringComparison.Ordinal), wrongLogin.Item2.Replace("known@example.com", "X", StringComparison.Ordinal));
        Assert.Equal(await Answer("/reset", ("email", "nobody@example.com")), await Answer("/reset", ("email", "known@example.com")));

        // The known address got its mail (off the request path); the unknown one nothing.
        await Gatehouse.Gateway.Tests.Infrastructure.Wait.UntilAsync(() => Directory.Exists(h.MailDirectory) && Directory.GetFiles(h.MailDirectory, "*.eml").Length == 1, "the reset mail");
        var mail = await File.ReadAllTextAsync(Directory.GetFiles(h.MailDirectory, "*.eml").Single());
        Assert.Contains("known@example.com", mail, StringComparison.Ordinal);
        Assert.DoesNotContain("fresh@example.com", mail, StringComparison.Ordinal);

        // The signup of the known address changed nothing: its password is still the old one.
        using var old = h.NewBrowser();
        using var signedIn = await old.SubmitAsync("/login", "/login", ("email", "known@example.com"), ("password", "a long enough pass phrase"));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
    }

    [Fact]
    public async Task EleventhFailedLogin_InAMinute_Is429EvenWithTheRightPassword_AndTheOwnerGetsInAfterTheWindow()
    {
        var time = new FakeTime(DateTimeOffset.UtcNow);
        await using var h = await PortalHarness.StartAsync(time);
        await h.ConsumerAsync("owner@example.com", "correct battery staple horse");
        using var attacker = h.NewBrowser();
        for (var i = 0; i < 10; i++)
        {
            using var failed = await attacker.SubmitAsync("/login", "/login", ("email", "owner@example.com"), ("password", $"guess number {i} of many"));
            Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        }

        using var owner = h.NewBrowser();
        using var refused = await owner.SubmitAsync("/login", "/login", ("email", "owner@example.com"), ("password", "correct battery staple horse"));
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);

        time.Advance(TimeSpan.FromSeconds(61));
        using var admitted = await owner.SubmitAsync("/login", "/login", ("email", "owner@example.com"), ("password", "correct battery staple horse"));
        Assert.Equal(HttpStatusCode.Redirect, admitted.StatusCode);
    }

    [Fact]
    public async Task FortyConcurrentGuesses_AtOneAccount_CheckTen_AndRefuseTheRestBeforeTheirPasswords()
    {
        // Password checks take about 100 ms each and up to 256 wait for a worker: counted only once they failed, all forty
        // guesses passed the check made before any had failed, and forty passwords were tried where ten are allowed.
        await using var h = await PortalHarness.StartAsync();
        await h.ConsumerAsync("target@example.com", "correct battery staple horse");
        using var attacker = h.NewBrowser();
        var token = Browser.TokenOf(await attacker.PageAsync("/login"));
        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            using var response = await attacker.PostAsync("/login", ("email", "target@example.com"), ("password", $"concurrent guess {i}"), ("__RequestVerificationToken", token));
            return response.StatusCode;
        }));

        Assert.Equal((10, 30), (answers.Count(s => s == HttpStatusCode.Unauthorized), answers.Count(s => s == (HttpStatusCode)429)));
        using var owner = h.NewBrowser();
        using var refused = await owner.SubmitAsync("/login", "/login", ("email", "target@example.com"), ("password", "correct battery staple horse"));
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
    }

    [Fact]
    public async Task OneConsumer_CannotSeeRotateRevokeOrDelete_AnothersApplication()
    {
        await using var h = await PortalHarness.StartAsync();
        using var alice = await h.ConsumerAsync("alice@example.com");
        using var mallory = await h.ConsumerAsync("mallory@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(alice, "retail", "Alice's shop");
        var prefix = key[..8];
        var token = Browser.TokenOf(await mallory.PageAsync("/apps"));

        using (var look = await mallory.GetAsync($"/apps/{id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, look.StatusCode);
            Assert.DoesNotContain("Alice", await look.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        foreach (var (action, fields) in new (string, (string, string)[])[]
        {
            ($"/apps/{id}/keys/{prefix}/rotate", [("grace", "0s")]),
            ($"/apps/{id}/keys/{prefix}/revoke", []),
            ($"/apps/{id}/plan", [("plan", "wholesale")]),
            ($"/apps/{id}/delete", []),
        })
        {
            using var attempt = await mallory.PostAsync(action, [.. fields, ("__RequestVerificationToken", token)]);
            Assert.Equal(HttpStatusCode.NotFound, attempt.StatusCode);
        }

        Assert.DoesNotContain(id, await mallory.PageAsync("/apps"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key));
        var app = await h.Store.GetApplicationAsync(id);
        Assert.Equal("retail", app!.Plan);
        Assert.Single(app.Keys);
    }

    [Fact]
    public async Task AKey_AppearsOnlyInTheResponseThatMadeIt()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("once@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail");
        Assert.StartsWith("ghk_", key, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key));

        var pages = await browser.PageAsync("/apps") + await browser.PageAsync($"/apps/{id}") + await browser.PageAsync("/");
        Assert.DoesNotContain(key, pages, StringComparison.Ordinal);
        Assert.Contains(key[..8], pages, StringComparison.Ordinal);
        using var console = new Browser(h.Admin.Url);
        await console.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken));
        Assert.DoesNotContain(key, await console.PageAsync("/console/applications") + await console.PageAsync("/console/audit"), StringComparison.Ordinal);

        lock (h.Logs)
        {
            Assert.DoesNotContain(h.Logs, line => line.Contains(key, StringComparison.Ordinal));
        }

        foreach (var file in Directory.EnumerateFiles(h.Folder, "*", SearchOption.AllDirectories))
        {
            FileStream stream;
            try
            {
                stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (FileNotFoundException)
            {
                continue; // gone since it was listed: SQLite removes its -wal and -shm files when the last connection closes
            }

            using (stream)
            using (var reader = new StreamReader(stream))
            {
                Assert.DoesNotContain(key, await reader.ReadToEndAsync(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task OversizedAndMalformedPosts_Get413Or400_AndWriteNothing()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = h.NewBrowser();
        var token = Browser.TokenOf(await browser.PageAsync("/signup"));
        using var huge = await browser.PostAsync("/signup", ("email", "big@example.com"), ("title", new string('x', 64 * 1024)), ("password", "a long enough pass phrase"), ("__RequestVerificationToken", token));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);

        using var json = await browser.Client.PostAsync("/signup", new StringContent("{\"email\":\"json@example.com\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
        using var broken = await browser.Client.PostAsync("/signup", new StringContent("email=%zz&title=%&&&==", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        using var longTitle = await browser.SubmitAsync("/signup", "/signup", ("email", "long@example.com"), ("title", new string('x', 101)), ("password", "a long enough pass phrase"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, longTitle.StatusCode);
        using var weak = await browser.SubmitAsync("/signup", "/signup", ("email", "weak@example.com"), ("title", "W"), ("password", "password1234"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, weak.StatusCode);

        Assert.Equal(0, (await h.Store.CountConsumersAsync()).Accounts);
        Assert.Empty(await h.Store.ListConsumerChangesAsync(null, 10));
    }
}
