using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Consumers register OAuth clients for their applications at the portal's provider (<c>--portal-oauth-issuer</c>,
/// RFC 7591), against a real, certified provider (panva's <c>oidc-provider</c>): the client's tokens mean the application
/// at the gateway, with its plan; removing the client, or the application, deletes it at the provider (RFC 7592).
/// </summary>
[Trait("Issue", "18")]
public sealed partial class PortalOAuthClientsTests
{
    private const string Resource = "http://gateway.test/";
    private const string InitialToken = "initial-access-token-for-the-test";

    [GeneratedRegex("id=\"client-id\">([^<]+)</code>")]
    private static partial Regex ClientIdShown();

    [GeneratedRegex("data-new-key=\"([^\"]+)\" data-client-id")]
    private static partial Regex SecretShown();

    private static Task<OidcProvider> ProviderAsync(int port) =>
        OidcProvider.StartAsync(port, "http://127.0.0.1:1/sso/callback", new Dictionary<string, object>(), environment: new Dictionary<string, string>
        {
            ["OIDC_REGISTRATION"] = InitialToken,
            ["OIDC_RESOURCE"] = Resource,
        });

    // The gateway trusts the provider's tokens for the resource; the portal registers clients there.
    private static Task<PortalHarness> PortalAsync(string issuer, string initialToken = InitialToken, FakeTime? time = null) => PortalHarness.StartAsync(
        time,
        portalOptions: o => o with { OAuthClients = new OAuthRegistrationOptions { Issuer = issuer, InitialAccessToken = initialToken } },
        editYaml: yaml => yaml.Replace("  listeners: [ { url: \"http://127.0.0.1:0\" } ]\n", $$"""
              listeners: [ { url: "http://127.0.0.1:0" } ]
              jwt:
                issuers:
                  idp: { issuer: "{{issuer}}", audiences: ["{{Resource}}"], jwksUrl: "{{issuer}}/jwks", algorithms: [RS256] }

            """, StringComparison.Ordinal));

    private static async Task<HttpResponseMessage> TokenAsync(string issuer, string clientId, string secret)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, issuer + "/token")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("grant_type", "client_credentials")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));
        return await client.SendAsync(request);
    }

    private static async Task<string> AccessTokenAsync(string issuer, string clientId, string secret)
    {
        using var response = await TokenAsync(issuer, clientId, secret);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!["access_token"]!.GetValue<string>();
    }

    private static async Task<HttpStatusCode> CallAsync(PortalHarness h, HttpMethod method, string token)
    {
        using var client = h.GatewayClient();
        using var request = new HttpRequestMessage(method, "/users/7");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task AConsumerRegistersAClient_ItsTokensMeanTheApplicationOnItsPlan_AndRemovingItDeletesItAtTheProvider()
    {
        var port = OidcProvider.PickPort();
        var issuer = OidcProvider.Issuer(port);
        await using var idp = await ProviderAsync(port);
        await using var h = await PortalAsync(issuer);
        using var browser = await h.ConsumerAsync("service@example.com");
        var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Nightly sync");
        Assert.Contains($"Register an OAuth client at {issuer}", await browser.PageAsync($"/apps/{id}"), StringComparison.Ordinal);

        using var registered = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/oauth-clients");
        var shown = await registered.Content.ReadAsStringAsync();
        Assert.True(registered.StatusCode == HttpStatusCode.Created, shown);
        var clientId = ClientIdShown().Match(shown).Groups[1].Value;
        var secret = SecretShown().Match(shown).Groups[1].Value;
        Assert.NotEmpty(clientId);
        Assert.NotEmpty(secret);
        Assert.Contains($"<code>{issuer}/token</code>", shown, StringComparison.Ordinal);
        Assert.Contains($"-d resource={Resource}", shown, StringComparison.Ordinal);

        // The portal keeps no secret: the store has the client's management token only, protected.
        var kept = Assert.Single(await h.Store.ListOAuthClientsAsync(id));
        Assert.Equal((clientId, issuer, $"{issuer}/reg/{clientId}"), (kept.ClientId, kept.Issuer, kept.ManagementUri));
        Assert.DoesNotContain(secret, kept.ManagementToken!, StringComparison.Ordinal);

        // A token of the client, from the provider, is the application at the gateway, with its plan's grants (retail
        // reads, does not write).
        var token = await AccessTokenAsync(issuer, clientId, secret);
        await Wait.UntilAsync(() => h.Gateway.Runtime.Engine.FindClient(h.Gateway.Runtime.Current.Access!, clientId)?.Id == id, "the node to learn the client id");
        Assert.Equal(HttpStatusCode.OK, await CallAsync(h, HttpMethod.Get, token));
        Assert.Equal(HttpStatusCode.Forbidden, await CallAsync(h, HttpMethod.Put, token));
        var page = await browser.PageAsync($"/apps/{id}");
        Assert.Contains($"<td>you, at {issuer}</td>", page, StringComparison.Ordinal);
        Assert.Contains($"add client id {clientId}", page, StringComparison.Ordinal);

        // Removed: the token no longer means the application, and the provider no longer has the client.
        using var removed = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/oauth-clients/remove", ("clientId", clientId), ("confirm", "yes"));
        var notice = await removed.Content.ReadAsStringAsync();
        Assert.True(removed.StatusCode == HttpStatusCode.OK, notice);
        Assert.Contains("the provider has deleted it", notice, StringComparison.Ordinal);
        await Wait.UntilAsync(() => h.Gateway.Runtime.Engine.FindClient(h.Gateway.Runtime.Current.Access!, clientId) is null, "the node to forget the client id");
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(h, HttpMethod.Get, token));
        using (var refused = await TokenAsync(issuer, clientId, secret))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("invalid_client", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty(await h.Store.ListOAuthClientsAsync(id));
        Assert.Equal(HttpStatusCode.NotFound, (await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/oauth-clients/remove", ("clientId", clientId))).StatusCode);
    }

    [Fact]
    public async Task ThroughTheApi_AClientIsRegistered_AndDeletingTheApplicationDeletesItAtTheProvider()
    {
        var port = OidcProvider.PickPort();
        var issuer = OidcProvider.Issuer(port);
        await using var idp = await ProviderAsync(port);
        await using var h = await PortalAsync(issuer);
        using var browser = await h.ConsumerAsync("script@example.com");
        var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Batch");
        using var api = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "deploy"));
        using var reader = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "dashboard", scope: "read"));

        using (var readOnly = await reader.PostAsync($"/api/v1/applications/{id}/oauth-clients", null))
        {
            Assert.Equal(HttpStatusCode.Forbidden, readOnly.StatusCode);
        }

        using var made = await api.PostAsync($"/api/v1/applications/{id}/oauth-clients", null);
        var body = JsonNode.Parse(await made.Content.ReadAsStringAsync())!;
        Assert.True(made.StatusCode == HttpStatusCode.Created, body.ToJsonString());
        var clientId = body["clientId"]!.GetValue<string>();
        var secret = body["clientSecret"]!.GetValue<string>();
        Assert.Equal($"{issuer}/token", body["tokenEndpoint"]!.GetValue<string>());
        Assert.Equal($"[\"{clientId}\"]", body["application"]!["clientIds"]!.ToJsonString());
        Assert.Null(body["clientSecretExpiresAt"]);
        var token = await AccessTokenAsync(issuer, clientId, secret);
        await Wait.UntilAsync(() => h.Gateway.Runtime.Engine.FindClient(h.Gateway.Runtime.Current.Access!, clientId)?.Id == id, "the node to learn the client id");
        Assert.Equal(HttpStatusCode.OK, await CallAsync(h, HttpMethod.Get, token));

        // Another account's application is not found, as everywhere in the API.
        using var other = await h.ConsumerAsync("other@example.com");
        var (theirs, _) = await PortalHarness.CreateAppAsync(other, "retail", "Theirs");
        using (var notYours = await api.PostAsync($"/api/v1/applications/{theirs}/oauth-clients", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, notYours.StatusCode);
        }

        using (var notYours = await api.DeleteAsync($"/api/v1/applications/{id}/oauth-clients/not-a-client-of-it"))
        {
            Assert.Equal(HttpStatusCode.NotFound, notYours.StatusCode);
        }

        // Deleting the application deletes its client at the provider, off the request.
        using (var deleted = await api.DeleteAsync($"/api/v1/applications/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await Wait.UntilAsync(async () =>
        {
            using var refused = await TokenAsync(issuer, clientId, secret);
            return refused.StatusCode == HttpStatusCode.Unauthorized;
        }, "the provider to delete the client");
        await Wait.UntilAsync(async () => (await h.Store.ListOAuthClientsAsync(id)).Count == 0, "the portal to forget the client");
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(h, HttpMethod.Get, token));
    }

    [Fact]
    public async Task AClientIdLetGoByAnotherRoad_IsDeletedAtTheProviderByTheSweep_OnceItIsNotBeingBound()
    {
        var port = OidcProvider.PickPort();
        var issuer = OidcProvider.Issuer(port);
        var time = new FakeTime(DateTimeOffset.UtcNow);
        await using var idp = await ProviderAsync(port);
        await using var h = await PortalAsync(issuer, time: time);
        using var browser = await h.ConsumerAsync("sweep@example.com");
        var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Swept");
        using var registered = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/oauth-clients");
        var shown = await registered.Content.ReadAsStringAsync();
        Assert.True(registered.StatusCode == HttpStatusCode.Created, shown);
        var (clientId, secret) = (ClientIdShown().Match(shown).Groups[1].Value, SecretShown().Match(shown).Groups[1].Value);

        // An administrator takes the client id away (the admin API replaces the list): the client is no application's.
        using var admin = h.AdminClient();
        using (var put = await admin.PutAsync($"/admin/portal/applications/{id}/client-ids", new StringContent("""{"clientIds":[]}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // Younger than the binding grace, it may be a registration still on its way to being bound: left alone.
        var oauth = h.Portal.OAuthClients!;
        time.Advance(OAuthClients.BindingGrace - TimeSpan.FromSeconds(30));
        Assert.Equal(0, await oauth.SweepAsync(CancellationToken.None));
        (await TokenAsync(issuer, clientId, secret)).EnsureSuccessStatusCode();

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(1, await oauth.SweepAsync(CancellationToken.None));
        Assert.Equal(HttpStatusCode.Unauthorized, (await TokenAsync(issuer, clientId, secret)).StatusCode);
        Assert.Empty(await h.Store.ListOAuthClientsAsync(id));
        Assert.Equal(0, await oauth.SweepAsync(CancellationToken.None));
    }

    [Fact]
    public async Task AProviderThatRefusesOrCannotBeReached_IsAClearProblem_AndNothingIsBound()
    {
        var port = OidcProvider.PickPort();
        var issuer = OidcProvider.Issuer(port);
        await using var idp = await ProviderAsync(port);

        // The wrong initial access token: the provider's own words, and the application holds no client id.
        await using (var h = await PortalAsync(issuer, initialToken: "not-the-providers-token"))
        {
            using var browser = await h.ConsumerAsync("refused@example.com");
            var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Refused");
            using var api = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "deploy"));
            using var refused = await api.PostAsync($"/api/v1/applications/{id}/oauth-clients", null);
            Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal("urn:gatehouse:problem:oauth-registration-refused", problem["type"]!.GetValue<string>());
            Assert.Contains("invalid_token", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("[]", JsonNode.Parse(await api.GetStringAsync($"/api/v1/applications/{id}"))!["clientIds"]!.ToJsonString());
            Assert.Empty(await h.Store.ListOAuthClientsAsync(id));
        }

        // A provider nobody answers at: 503, and the page says so.
        var nowhere = OidcProvider.Issuer(FreePorts.Tcp());
        await using (var h = await PortalAsync(nowhere))
        {
            using var browser = await h.ConsumerAsync("nowhere@example.com");
            var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Nowhere");
            using var failed = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/oauth-clients");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            Assert.Contains("discovery document cannot be read now", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Without a provider, the page offers none and the API says the portal registers none.
        await using (var h = await PortalHarness.StartAsync())
        {
            using var browser = await h.ConsumerAsync("none@example.com");
            var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", "None");
            Assert.DoesNotContain("Register an OAuth client", await browser.PageAsync($"/apps/{id}"), StringComparison.Ordinal);
            using var api = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "deploy"));
            using var off = await api.PostAsync($"/api/v1/applications/{id}/oauth-clients", null);
            Assert.Equal(HttpStatusCode.NotFound, off.StatusCode);
            Assert.Contains("oauth-registration-off", await off.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AProviderCannotSendTheRegistrationAccessTokenToAnotherOrigin()
    {
        // A provider (in this process, a hostile one) whose registration names a management URI on another origin: the
        // portal keeps no way to manage that client, so the registration access token goes nowhere, ever.
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var provider = builder.Build();
        var elsewhere = $"http://127.0.0.1:{FreePorts.Tcp()}/collect";
        string? issuer = null;
        provider.MapGet("/.well-known/openid-configuration", () => Microsoft.AspNetCore.Http.Results.Json(new Dictionary<string, string>
        {
            ["issuer"] = issuer!,
            ["registration_endpoint"] = issuer + "/reg",
            ["token_endpoint"] = issuer + "/token",
            ["jwks_uri"] = issuer + "/jwks",
        }));
        provider.MapGet("/jwks", () => Microsoft.AspNetCore.Http.Results.Json(new { keys = Array.Empty<object>() }));
        provider.MapPost("/reg", () => Microsoft.AspNetCore.Http.Results.Json(new Dictionary<string, object>
        {
            ["client_id"] = "hostile-client",
            ["client_secret"] = "s",
            ["registration_access_token"] = "rat",
            ["registration_client_uri"] = elsewhere,
        }, statusCode: 201));
        await provider.StartAsync();
        issuer = provider.Urls.First().TrimEnd('/');

        await using var h = await PortalAsync(issuer);
        using var browser = await h.ConsumerAsync("hostile@example.com");
        var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Hostile");
        using var registered = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/oauth-clients");
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var kept = Assert.Single(await h.Store.ListOAuthClientsAsync(id));
        Assert.Equal(("hostile-client", null, null), (kept.ClientId, kept.ManagementUri, kept.ManagementToken));
    }
}
