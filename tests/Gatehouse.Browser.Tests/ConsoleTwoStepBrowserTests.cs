using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Gatehouse.Tests.Support;
using Microsoft.Playwright;

namespace Gatehouse.Browser.Tests;

/// <summary>
/// Two-step sign-in for a console user in a real browser: the QR code shows (the page's CSP lets its data: image in),
/// it holds the otpauth address with the key shown under it (decoded by jsQR), that key gives the codes an authenticator would, the recovery codes are shown, and the next sign-in asks for
/// a code on a second form. axe-core checks the set-up page, the recovery codes and the second form.
/// </summary>
[Collection(BrowserCollection.Name)]
[Trait("Issue", "18")]
public sealed class ConsoleTwoStepBrowserTests(BrowserFixture fixture)
{
    private const string Email = "two-step@example.com";
    private const string Password = "a console pass phrase for the browser";

    [Fact]
    public async Task AConsoleUser_SetsUpTwoStepSignIn_AndSignsInWithARecoveryCode()
    {
        using (var admin = new HttpClient { BaseAddress = new Uri(fixture.AdminUrl) })
        {
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminToken);
            using var made = await admin.PutAsync($"/admin/users/{Email}", new StringContent($$"""{"password":"{{Password}}","role":"viewer"}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, made.StatusCode);
        }

        var (context, page, violations) = await fixture.NewPageAsync();
        await using (context)
        {
            await SignInWithPasswordAsync(page);
            await BrowserFixture.ArriveAsync(page, "**/console/pending");
            await page.GotoAsync(fixture.AdminUrl + "/console/account");
            var qr = page.GetByRole(AriaRole.Img, new() { Name = "QR code of the key below, for an authenticator app" });
            await qr.WaitForAsync(new() { Timeout = 60_000 });
            Assert.True(await qr.EvaluateAsync<bool>("img => img.complete && img.naturalWidth > 0"), "the QR code did not load");
            await BrowserFixture.CheckAsync(page, "30-console-two-step-setup");

            // What an authenticator app reads from the QR code, decoded by another library (jsQR) from the rendered image.
            var key = (await page.Locator("#two-step-key").InnerTextAsync()).Trim();
            var png = Path.Combine(BrowserFixture.Screenshots, "30-console-two-step-qr.png");
            await qr.ScreenshotAsync(new() { Path = png });
            var (exit, text, error) = await Gatehouse.Gateway.Tests.Mcp.NodeTools.RunAsync(Gatehouse.Gateway.Tests.Mcp.NodeTools.Node(), ["qr-decode.mjs", png], TimeSpan.FromSeconds(60));
            Assert.True(exit == 0, error);
            var host = new Uri(fixture.AdminUrl).Host;
            Assert.Equal($"otpauth://totp/Gatehouse%20{host}:two-step%40example.com?secret={key}&issuer=Gatehouse%20{host}&algorithm=SHA1&digits=6&period=30", text);
            await page.GetByLabel("The code the app shows").FillAsync(Rfc6238.Code(key, DateTimeOffset.UtcNow));
            await page.Locator("#on-current").FillAsync(Password);
            await page.GetByRole(AriaRole.Button, new() { Name = "Turn two-step sign-in on" }).ClickAsync();
            var codes = page.Locator("ul.codes code");
            await codes.First.WaitForAsync(new() { Timeout = 60_000 });
            var recovery = await codes.AllInnerTextsAsync();
            Assert.Equal(10, recovery.Count);
            await BrowserFixture.CheckAsync(page, "31-console-two-step-codes");

            await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await BrowserFixture.ArriveAsync(page, "**/console/login");
            await SignInWithPasswordAsync(page);
            var code = page.GetByLabel("The six-digit code from your authenticator app, or a recovery code");
            await code.WaitForAsync(new() { Timeout = 60_000 });
            await BrowserFixture.CheckAsync(page, "32-console-two-step-code");
            await code.FillAsync(recovery[0]);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await BrowserFixture.ArriveAsync(page, "**/console/pending");
            await page.GotoAsync(fixture.AdminUrl + "/console/account");
            await page.GetByText("9 of 10 recovery codes are left").WaitForAsync(new() { Timeout = 60_000 });

            // The pages where a console user chooses a password: from a forgotten one, and from an invitation.
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
            await BrowserFixture.ArriveAsync(page, "**/console/login");
            await page.GetByRole(AriaRole.Link, new() { Name = "Get a link to choose a new one" }).ClickAsync();
            await page.GetByLabel("Email").WaitForAsync(new() { Timeout = 60_000 });
            await BrowserFixture.CheckAsync(page, "33-console-reset");
            using (var admin = new HttpClient { BaseAddress = new Uri(fixture.AdminUrl) })
            {
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminToken);
                using var invite = await admin.PostAsync("/admin/users/invited@example.com/invite", null);
                Assert.Equal(HttpStatusCode.Created, invite.StatusCode);
                var link = (string)System.Text.Json.Nodes.JsonNode.Parse(await invite.Content.ReadAsStringAsync())!["link"]!;
                await page.GotoAsync(link);
            }

            await page.GetByLabel("New password").FillAsync("a phrase chosen in the browser");
            await BrowserFixture.CheckAsync(page, "34-console-welcome");
            await page.GetByRole(AriaRole.Button, new() { Name = "Set the password" }).ClickAsync();
            await BrowserFixture.ArriveAsync(page, "**/console/pending");
            Assert.Empty(violations);
        }
    }

    private async Task SignInWithPasswordAsync(IPage page)
    {
        await page.GotoAsync(fixture.AdminUrl + "/console/login");
        await page.GetByLabel("Email (an admin user), or leave empty").FillAsync(Email);
        await page.GetByLabel("Password, or the admin token").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }
}
