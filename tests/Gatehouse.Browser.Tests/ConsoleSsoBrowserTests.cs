using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using Gatehouse.Tests.Support;
using Microsoft.Playwright;

namespace Gatehouse.Browser.Tests;

/// <summary>
/// Single sign-on to the console in a real browser, as an administrator would set it up: <c>gatehouse demo</c> started
/// with <c>--console-oidc-*</c> and the client secret in its environment, a real OpenID provider (oidc-provider), and
/// Chromium clicking through the console's button, the provider's own sign-in and consent pages, and back; then a
/// consumer signing up on the portal the same way and registering an OAuth client for an application there. axe-core
/// checks the console's sign-in page, the portal's sign-up page with their buttons, and the pages of the OAuth client.
/// </summary>
[Collection(BrowserCollection.Name)]
[Trait("Issue", "18")]
public sealed class ConsoleSsoBrowserTests(BrowserFixture fixture)
{
    [Fact]
    public async Task AConsoleUser_SignsInWithTheProvider_InTheBrowser()
    {
        var idpPort = OidcProvider.PickPort();
        var adminUrl = $"http://127.0.0.1:{FreePortsFor.Admin()}";
        var portalUrl = $"http://127.0.0.1:{FreePortsFor.Admin()}";
        await using var demo = GatehouseProcess.Start(
            new Dictionary<string, string>
            {
                ["GATEHOUSE_CONSOLE_OIDC_SECRET"] = OidcProvider.ClientSecret,
                ["GATEHOUSE_PORTAL_OIDC_SECRET"] = OidcProvider.ClientSecret,
                ["GATEHOUSE_PORTAL_OAUTH_REGISTRATION_TOKEN"] = RegistrationToken,
            },
            "demo", "--port", "0", "--any-service-ports", "--admin-url", adminUrl, "--portal-url", portalUrl,
            "--console-oidc-issuer", OidcProvider.Issuer(idpPort), "--console-oidc-client-id", OidcProvider.ClientId, "--console-oidc-name", "Staff Login",
            "--portal-oidc-issuer", OidcProvider.Issuer(idpPort), "--portal-oidc-client-id", OidcProvider.ClientId, "--portal-oidc-name", "Example ID",
            "--portal-oauth-issuer", OidcProvider.Issuer(idpPort));
        await demo.WaitForOutputAsync(new Regex(@"^demo admin token: (\S+)$", RegexOptions.Multiline), TimeSpan.FromSeconds(90));
        var token = Regex.Match(demo.StandardOutput, @"^demo admin token: (\S+)$", RegexOptions.Multiline).Groups[1].Value;
        await using var provider = await OidcProvider.StartAsync(idpPort, adminUrl + "/console/sso/callback," + portalUrl + "/sso/callback",
            new Dictionary<string, object>
            {
                ["alice"] = new { email = "alice@example.com", email_verified = true },
                ["erin"] = new { email = "erin@example.com", email_verified = true, name = "Erin's Shop" },
            },
            environment: new Dictionary<string, string> { ["OIDC_REGISTRATION"] = RegistrationToken });
        using (var admin = new HttpClient { BaseAddress = new Uri(adminUrl) })
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var invited = await admin.PostAsync("/admin/users/alice@example.com/invite", new StringContent("""{"role":"admin"}""", Encoding.UTF8, "application/json"));
            Assert.True(invited.StatusCode is HttpStatusCode.OK or HttpStatusCode.Created, await invited.Content.ReadAsStringAsync());
        }

        var (context, page, violations) = await fixture.NewPageAsync();
        await using (context)
        {
            await page.GotoAsync(adminUrl + "/console/login");
            var button = page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Staff Login" });
            await button.WaitForAsync(new() { Timeout = 60_000 });
            await BrowserFixture.CheckAsync(page, "34-console-sso-login");
            await button.ClickAsync();

            // The provider's own pages: its sign-in form (any password for its development accounts), then consent.
            await page.Locator("input[name=login]").WaitForAsync(new() { Timeout = 60_000 });
            await page.Locator("input[name=login]").FillAsync("alice");
            await page.Locator("input[name=password]").FillAsync("any password");
            await page.Locator("button[type=submit]").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync(new() { Timeout = 60_000 });

            await BrowserFixture.ArriveAsync(page, adminUrl + "/console/pending");
            await page.GotoAsync(adminUrl + "/console/account");
            await page.GetByText("Signed in as alice@example.com (role admin)").WaitForAsync(new() { Timeout = 60_000 });
            Assert.Empty(violations);
        }

        Assert.Matches(new Regex(@"Console sign-in: alice@example\.com \(role admin\) from \S+ with single sign-on through http://127\.0\.0\.1:" + idpPort), demo.StandardOutput + demo.StandardError);

        // A consumer signs up on the portal with the provider, and lands on their applications.
        (context, page, violations) = await fixture.NewPageAsync();
        await using (context)
        {
            await page.GotoAsync(portalUrl + "/signup");
            var button = page.GetByRole(AriaRole.Link, new() { Name = "Sign up with Example ID" });
            await button.WaitForAsync(new() { Timeout = 60_000 });
            await BrowserFixture.CheckAsync(page, "35-portal-sso-signup");
            await button.ClickAsync();
            await page.Locator("input[name=login]").WaitForAsync(new() { Timeout = 60_000 });
            await page.Locator("input[name=login]").FillAsync("erin");
            await page.Locator("input[name=password]").FillAsync("any password");
            await page.Locator("button[type=submit]").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync(new() { Timeout = 60_000 });
            await BrowserFixture.ArriveAsync(page, portalUrl + "/apps");
            await page.GotoAsync(portalUrl + "/account");
            await page.GetByText("erin@example.com").First.WaitForAsync(new() { Timeout = 60_000 });

            // Erin registers an OAuth client for an application at the same provider (--portal-oauth-issuer, its
            // initial access token from the environment): the secret is shown once, with a copy button.
            await page.GotoAsync(portalUrl + "/apps/new");
            await page.GetByLabel("Name").FillAsync("Erin's sync");
            await page.GetByLabel("Plan").SelectOptionAsync("retail");
            await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
            await page.GetByRole(AriaRole.Link, new() { Name = "Go to the application" }).ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Register an OAuth client at " + OidcProvider.Issuer(idpPort) }).ClickAsync();
            var clientId = (await page.Locator("#client-id").TextContentAsync(new() { Timeout = 60_000 }))!;
            Assert.NotEmpty(await page.Locator("#new-key").GetAttributeAsync("data-new-key") ?? "");
            await page.GetByRole(AriaRole.Button, new() { Name = "Copy the secret" }).WaitForAsync(new() { Timeout = 60_000 });
            await BrowserFixture.CheckAsync(page, "36-portal-oauth-client-shown");

            // The application's page lists it as registered here; removing it deletes it at the provider.
            await page.GetByRole(AriaRole.Link, new() { Name = "Go to the application" }).ClickAsync();
            var remove = page.GetByRole(AriaRole.Button, new() { Name = $"Remove {clientId} and delete it at the provider" });
            await remove.WaitForAsync(new() { Timeout = 60_000 });
            await BrowserFixture.CheckAsync(page, "37-portal-app-oauth-clients");
            await remove.ClickAsync();
            // Removing asks first, saying that the provider deletes the client too.
            await page.GetByText($"The portal also deletes the client at {OidcProvider.Issuer(idpPort)}").WaitForAsync(new() { Timeout = 60_000 });
            await page.GetByRole(AriaRole.Button, new() { Name = "Remove the client now" }).ClickAsync();
            await page.GetByText("the provider has deleted it").WaitForAsync(new() { Timeout = 60_000 });
            Assert.Empty(violations);
        }
    }

    private const string RegistrationToken = "browser-test-initial-access-token";

    private static class FreePortsFor
    {
        public static int Admin() => Gatehouse.Gateway.Tests.Infrastructure.FreePorts.Tcp();
    }
}
