using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Web;
using Gatehouse.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// OpenID Connect Back-Channel Logout 1.0: the single sign-on provider ends the console's and the portal's sessions of
/// someone who signed out there (or whom its administrators signed out), by posting a logout token to
/// <c>ROOT/sso/backchannel-logout</c>. With a real provider (oidc-provider), and with tokens made here against a provider
/// of the test's own, for every way a token can be wrong.
/// </summary>
[Trait("Issue", "18")]
public sealed class BackChannelLogoutTests
{
    private static readonly Dictionary<string, object> Accounts = new()
    {
        ["alice"] = new { email = "alice@example.com", email_verified = true },
        ["erin"] = new { email = "erin@example.com", email_verified = true, name = "Erin" },
    };

    [Fact]
    public async Task SigningOutAtTheProvider_EndsTheConsoleUsersSessions_AllOfThem()
    {
        var port = OidcProvider.PickPort();
        await using var h = await PortalHarness.StartAsync(sso: new SingleSignOnOptions
        {
            Issuer = OidcProvider.Issuer(port), ClientId = OidcProvider.ClientId, ClientSecret = OidcProvider.ClientSecret, Name = "Staff Login",
        });
        await using var idp = await OidcProvider.StartAsync(port, h.Admin.Url + "/console/sso/callback", Accounts);
        await ConsoleTests.CreateUserAsync(h, "alice@example.com", "viewer");

        using var browser = new Browser(h.Admin.Url);
        using (var signedIn = await SsoWalk.SignInAsync(browser, "alice"))
        {
            Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
        }

        using var withPassword = await ConsoleTwoStepTests.SignInAsync(h, "alice@example.com");
        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(browser));

        // Signed out at the provider, on its own page: it posts its logout token before it answers.
        await SsoWalk.ConfirmProviderSignOutAsync(browser, new Uri(OidcProvider.Issuer(port) + "/session/end"));

        var status = await ConsoleTests.PendingStatusAsync(browser);
        lock (h.Logs)
        {
            Assert.True(status == HttpStatusCode.Redirect, string.Join('\n', h.Logs));
        }

        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(withPassword));
        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l == $"Console sessions of alice@example.com ended: the single sign-on provider {OidcProvider.Issuer(port)} signed them out (back-channel logout)");
        }

        // Who it was is in the change log; signing in again works.
        using (var admin = h.AdminClient())
        {
            Assert.Contains("sso-logout", await admin.GetStringAsync("/admin/portal/changes"), StringComparison.Ordinal);
        }

        using var again = await ConsoleTwoStepTests.SignInAsync(h, "alice@example.com");
    }

    [Fact]
    public async Task SigningOutAtTheProvider_EndsThePortalAccountsSessions()
    {
        var port = OidcProvider.PickPort();
        await using var h = await PortalHarness.StartAsync(portalOptions: o => o with
        {
            Sso = new SingleSignOnOptions
            {
                Issuer = OidcProvider.Issuer(port), ClientId = OidcProvider.ClientId, ClientSecret = OidcProvider.ClientSecret, Name = "Example ID", Options = "--portal-oidc",
            },
        });
        await using var idp = await OidcProvider.StartAsync(port, h.Portal.Url + "/sso/callback", Accounts);

        var browser = h.NewBrowser();
        using (var signedIn = await SsoWalk.SignInAsync(browser, "erin", "/sso", root: ""))
        {
            Assert.True(signedIn.StatusCode == HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
        }

        using (var apps = await browser.GetAsync("/apps"))
        {
            Assert.Equal(HttpStatusCode.OK, apps.StatusCode);
        }

        await SsoWalk.ConfirmProviderSignOutAsync(browser, new Uri(OidcProvider.Issuer(port) + "/session/end"));

        using var after = await browser.GetAsync("/apps");
        Assert.Equal(HttpStatusCode.Redirect, after.StatusCode);
        Assert.StartsWith("/login", after.Headers.Location?.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALogoutToken_IsTaken_OnlyWhenItsProviderSignedIt_ForThisClient_AsALogoutToken_AndOnce()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var h = await PortalHarness.StartAsync(sso: new SingleSignOnOptions { Issuer = issuer.Url, ClientId = "console-client", Name = "Staff Login" });
        await ConsoleTests.CreateUserAsync(h, "alice@example.com", "viewer");
        var store = (IConsumerStore)h.Store;
        Assert.Equal(SsoLinkOutcome.Linked, await store.LinkSsoAsync("console-user:alice@example.com", issuer.Url, "alice-sub", "test", "console-user"));
        using var session = await ConsoleTwoStepTests.SignInAsync(h, "alice@example.com");
        using var provider = new HttpClient { BaseAddress = new Uri(h.Admin.Url) };

        async Task<(HttpStatusCode Status, string Body)> PostAsync(string? token)
        {
            using var content = new FormUrlEncodedContent(token is null ? [] : [KeyValuePair.Create("logout_token", token)]);
            using var response = await provider.PostAsync("/console/sso/backchannel-logout", content);
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        async Task RefusedAsync(string? token, string why)
        {
            var (status, body) = await PostAsync(token);
            Assert.True(status == HttpStatusCode.BadRequest, $"{status} {body}");
            Assert.Equal("invalid_request", JsonNode.Parse(body)!["error"]!.GetValue<string>());
            Assert.Contains(why, body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(session)); // nothing ended
        }

        await RefusedAsync(null, "one logout_token");
        await RefusedAsync("not a token", "not one");
        await RefusedAsync(issuer.Token(), "not one"); // the wrong audience: made for another client
        await RefusedAsync(issuer.Token(audience: "console-client", key: TestIssuer.NewKey()), "not one");
        await RefusedAsync(issuer.Token(audience: "console-client", events: false), "not a logout token");
        await RefusedAsync(issuer.Token(audience: "console-client", nonce: true), "nonce");
        await RefusedAsync(issuer.Token(audience: "console-client", issuedAgo: TimeSpan.FromMinutes(20)), "iat");
        await RefusedAsync(issuer.Token(audience: "console-client", subject: null), "sid");
        await RefusedAsync(issuer.Token(audience: "console-client", type: "at+jwt"), "not one");
        await RefusedAsync(issuer.Token(audience: "console-client", jti: 7), "not one"); // IdentityModel reads a jti as a string
        await RefusedAsync(new string('a', 20_000), "one logout_token"); // larger than a logout token: not read

        // Someone bound to no one here: taken, and nothing ends.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(issuer.Token(audience: "console-client", subject: "nobody"))).Status);
        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(session));

        var token = issuer.Token(audience: "console-client");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(token)).Status);
        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(session));

        using var again = await ConsoleTwoStepTests.SignInAsync(h, "alice@example.com");
        var (replayed, body) = await PostAsync(token);
        Assert.True(replayed == HttpStatusCode.BadRequest && body.Contains("used already", StringComparison.Ordinal), body);
        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(again));
    }

    /// <summary>An OpenID provider of the test's own: a discovery document and a key set on loopback, and tokens signed with its key.</summary>
    private sealed class TestIssuer : IAsyncDisposable
    {
        private readonly TestBackend _backend;
        private readonly RsaSecurityKey _key;

        private TestIssuer(TestBackend backend, RsaSecurityKey key) => (_backend, _key) = (backend, key);

        public string Url => _backend.Url;

        public static RsaSecurityKey NewKey() => new(RSA.Create(2048)) { KeyId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)) };

        public static async Task<TestIssuer> StartAsync()
        {
            var key = NewKey();
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
            var jwks = new JsonObject
            {
                ["keys"] = new JsonArray(new JsonObject { ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = jwk.Kid, ["n"] = jwk.N, ["e"] = jwk.E }),
            }.ToJsonString();
            TestBackend? backend = null;
            backend = await TestBackend.StartAsync(app => app.Run(context =>
            {
                var root = backend!.Url;
                return context.Request.Path.Value switch
                {
                    "/.well-known/openid-configuration" => context.Response.WriteAsJsonAsync(new Dictionary<string, object>
                    {
                        ["issuer"] = root,
                        ["authorization_endpoint"] = root + "/auth",
                        ["token_endpoint"] = root + "/token",
                        ["jwks_uri"] = root + "/jwks",
                        ["response_types_supported"] = new[] { "code" },
                        ["subject_types_supported"] = new[] { "public" },
                        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
                        ["backchannel_logout_supported"] = true,
                    }),
                    "/jwks" => context.Response.WriteAsync(jwks),
                    _ => Task.FromResult(context.Response.StatusCode = 404),
                };
            }));
            return new TestIssuer(backend, key);
        }

        public string Token(string audience = "another-client", RsaSecurityKey? key = null, bool events = true, bool nonce = false, TimeSpan? issuedAgo = null,
            string? subject = "alice-sub", string type = "logout+jwt", object? jti = null)
        {
            var claims = new Dictionary<string, object> { ["jti"] = jti ?? Guid.NewGuid().ToString("N"), ["sid"] = "session-1" };
            if (events)
            {
                claims["events"] = new Dictionary<string, object> { ["http://schemas.openid.net/event/backchannel-logout"] = new Dictionary<string, object>() };
            }

            if (nonce)
            {
                claims["nonce"] = "n-1";
            }

            if (subject is not null)
            {
                claims["sub"] = subject;
            }

            var issued = DateTime.UtcNow - (issuedAgo ?? TimeSpan.Zero);
            return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = Url,
                Audience = audience,
                IssuedAt = issued,
                Expires = issued.AddMinutes(2) > DateTime.UtcNow ? issued.AddMinutes(2) : null,
                Claims = claims,
                TokenType = type,
                SigningCredentials = new SigningCredentials(key ?? _key, SecurityAlgorithms.RsaSha256),
            });
        }

        public ValueTask DisposeAsync() => _backend.DisposeAsync();
    }
}
