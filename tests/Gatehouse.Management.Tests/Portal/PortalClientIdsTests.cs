using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// OAuth client ids of portal applications: an administrator gives an application the client ids whose tokens mean it
/// (<c>PUT /admin/portal/applications/{id}/client-ids</c>), the gateway's nodes learn them as they learn keys, and no
/// client id means two applications, of the portal or of the config.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalClientIdsTests
{
    private static HttpClient Admin(PortalHarness h)
    {
        var admin = new HttpClient { BaseAddress = new Uri(h.Admin.Url) };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", PortalHarness.AdminToken);
        return admin;
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> PutAsync(HttpClient admin, string id, string json)
    {
        using var response = await admin.PutAsync($"/admin/portal/applications/{id}/client-ids", new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    [Fact]
    public async Task AnAdministrator_GivesAPortalApplicationClientIds_TheGatewayLearnsThem_AndNoneMeansTwoApplications()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("oauth@example.com");
        var (id, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Shop SPA");
        var (other, _) = await PortalHarness.CreateAppAsync(browser, "retail", "Shop backend");
        using var admin = Admin(h);

        var (status, body) = await PutAsync(admin, id, """{"clientIds":["shop-spa","shop-cli"]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"clientIds":["shop-spa","shop-cli"]}""", body!.ToJsonString());

        // The node's directory has them (the gateway finds the application by its client id), the listing and the
        // application's pages show them, and the change log says who set them.
        await Wait.UntilAsync(() => h.Gateway.Runtime.Engine.FindClient(h.Gateway.Runtime.Current.Access!, "shop-cli")?.Id == id, "the node to learn the client ids");
        var listed = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/applications"))!["items"]!.AsArray().Single(a => a!["id"]!.GetValue<string>() == id)!;
        Assert.Equal("""["shop-spa","shop-cli"]""", listed["clientIds"]!.ToJsonString());
        var page = await browser.PageAsync($"/apps/{id}");
        Assert.Contains("<td><code>shop-spa</code></td>", page, StringComparison.Ordinal);
        Assert.Contains("<td><code>shop-cli</code></td>", page, StringComparison.Ordinal);
        Assert.Contains("<td>the portal&#x27;s operators</td>", page, StringComparison.Ordinal);
        var change = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/changes"))!["items"]![0]!;
        Assert.Equal(("client ids", "admin-api", id), (change["action"]!.GetValue<string>(), change["actor"]!.GetValue<string>(), change["name"]!.GetValue<string>()));
        Assert.Equal("""["shop-spa","shop-cli"]""", change["after"]!["clientIds"]!.ToJsonString());

        // The consumer's scripts read them through the portal's JSON API.
        using (var api = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "script", scope: "read")))
        {
            Assert.Equal("""["shop-spa","shop-cli"]""", JsonNode.Parse(await api.GetStringAsync($"/api/v1/applications/{id}"))!["clientIds"]!.ToJsonString());
            var items = JsonNode.Parse(await api.GetStringAsync("/api/v1/applications"))!["items"]!.AsArray();
            Assert.Equal("[]", items.Single(a => a!["id"]!.GetValue<string>() == other)!["clientIds"]!.ToJsonString());
        }

        // The consumer may take one away, on the page or through the API, also one with '/' (OAuth allows it).
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(admin, other, """{"clientIds":["team/ci","team/cd"]}""")).Status);
        using (var removed = await browser.SubmitAsync($"/apps/{other}", $"/apps/{other}/oauth-clients/remove", ("clientId", "team/ci"), ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        }

        using (var api = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "remover")))
        using (var removed = await api.DeleteAsync($"/api/v1/applications/{other}/oauth-clients/{Uri.EscapeDataString("team/cd")}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        Assert.Null((await h.Store.GetApplicationAsync(other))!.ClientIds);

        // Another portal application cannot take one; nothing of that change is kept.
        (status, body) = await PutAsync(admin, other, """{"clientIds":["shop-backend","shop-spa"]}""");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("urn:gatehouse:problem:client-id-taken", body!["type"]!.GetValue<string>());
        Assert.Contains(id, body["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(h.Gateway.Runtime.Engine.FindClient(h.Gateway.Runtime.Current.Access!, "shop-backend"));

        // Nor one of a config application: its clientIds, or its name when it names none.
        using (var made = await admin.PutAsync("/admin/accounts/acme", new StringContent("""{"title":"Acme"}""", Encoding.UTF8, "application/json")))
        {
            Assert.True(made.IsSuccessStatusCode, await made.Content.ReadAsStringAsync());
        }

        using (var made = await admin.PutAsync("/admin/applications/partner", new StringContent("""{"account":"acme","plan":"retail"}""", Encoding.UTF8, "application/json")))
        {
            Assert.True(made.IsSuccessStatusCode, await made.Content.ReadAsStringAsync());
        }

        (status, body) = await PutAsync(admin, other, """{"clientIds":["partner"]}""");
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains("config's application 'partner'", body!["detail"]!.GetValue<string>(), StringComparison.Ordinal);

        // What is not a list of client ids.
        foreach (var (json, expected) in new[]
        {
            ("""{"clientIds":"shop"}""", HttpStatusCode.BadRequest),
            ("""{"clientIds":[1]}""", HttpStatusCode.BadRequest),
            ("""{"clientIds":["a"],"more":1}""", HttpStatusCode.BadRequest),
            ("""{"clientIds":["with space"]}""", HttpStatusCode.UnprocessableEntity),
            ("""{"clientIds":[""]}""", HttpStatusCode.UnprocessableEntity),
            ("""{"clientIds":["twice","twice"]}""", HttpStatusCode.UnprocessableEntity),
            ($$"""{"clientIds":[{{string.Join(',', Enumerable.Range(0, 21).Select(i => $"\"c{i}\""))}}]}""", HttpStatusCode.UnprocessableEntity),
        })
        {
            Assert.Equal(expected, (await PutAsync(admin, other, json)).Status);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await PutAsync(admin, "app-nosuch", """{"clientIds":["x"]}""")).Status);

        // Deleted, an application lets its client ids go: another may take them, and the node forgets the old one.
        using (var deleted = await admin.DeleteAsync($"/admin/portal/applications/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, (await PutAsync(admin, other, """{"clientIds":["shop-spa"]}""")).Status);
        await Wait.UntilAsync(() => h.Gateway.Runtime.Engine.FindClient(h.Gateway.Runtime.Current.Access!, "shop-spa")?.Id == other, "the node to move the client id");
        Assert.Null(h.Gateway.Runtime.Engine.FindClient(h.Gateway.Runtime.Current.Access!, "shop-cli"));
        Assert.Equal(HttpStatusCode.OK, (await PutAsync(admin, other, """{"clientIds":[]}""")).Status);
        await Wait.UntilAsync(() => h.Gateway.Runtime.Engine.FindClient(h.Gateway.Runtime.Current.Access!, "shop-spa") is null, "the node to forget the client id");
    }
}
