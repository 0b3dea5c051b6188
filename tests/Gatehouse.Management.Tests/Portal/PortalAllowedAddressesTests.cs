using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// A consumer limits where their application's credentials work (its allowed addresses): a key used from anywhere else
/// is refused at the gateway, and the owner can narrow what the plan's IP filter allows, never widen it.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalAllowedAddressesTests
{
    // The gateway believes the test's X-Forwarded-For (it is the trusted proxy), so each call can come from any address;
    // retail's plan allows only 192.0.2.0/24.
    private static Task<PortalHarness> StartAsync() => PortalHarness.StartAsync(editYaml: yaml => yaml
        .Replace("  listeners: [ { url: \"http://127.0.0.1:0\" } ]\n", "  listeners: [ { url: \"http://127.0.0.1:0\" } ]\n  trustedProxies: [127.0.0.1, \"::1\"]\n", StringComparison.Ordinal)
        .Replace("retail: { include: [ { tag: users, access: read } ] }", "retail: { include: [ { tag: users, access: read } ], ipFilter: { allow: [192.0.2.0/24] } }", StringComparison.Ordinal));

    private static async Task<(HttpStatusCode Status, string Body)> CallFromAsync(PortalHarness h, string key, string address)
    {
        using var client = h.GatewayClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/users/7");
        request.Headers.Add("X-Api-Key", key);
        request.Headers.Add("X-Forwarded-For", address);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheOwnersAllowedAddresses_NarrowThePlansFilter_AndNeverWidenIt()
    {
        await using var h = await StartAsync();
        using var browser = await h.ConsumerAsync("narrow@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Narrow");
        Assert.Equal(HttpStatusCode.OK, (await CallFromAsync(h, key, "192.0.2.5")).Status);
        Assert.Contains("work from any address the plan allows", await browser.PageAsync($"/apps/{id}"), StringComparison.Ordinal);

        // One address of the plan's range: the others of the range are refused, by the owner's list.
        using (var set = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/addresses", ("addresses", "192.0.2.5\n 198.51.100.0/24 , 192.0.2.5")))
        {
            var page = await set.Content.ReadAsStringAsync();
            Assert.True(set.StatusCode == HttpStatusCode.OK, page);
            Assert.Contains("Allowed addresses changed.", page, StringComparison.Ordinal);
            Assert.Contains(">192.0.2.5&#xA;198.51.100.0/24</textarea>", page, StringComparison.Ordinal);
        }

        await Wait.UntilAsync(async () => (await CallFromAsync(h, key, "192.0.2.6")).Status == HttpStatusCode.Forbidden, "the node to learn the allowed addresses");
        var (status, body) = await CallFromAsync(h, key, "192.0.2.6");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("ip-refused", body, StringComparison.Ordinal);
        Assert.Contains($"the addresses application '{id}' is allowed to call from (set by its owner)", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await CallFromAsync(h, key, "192.0.2.5")).Status);

        // The owner listed a range outside the plan's: the plan's filter still refuses it.
        (status, body) = await CallFromAsync(h, key, "198.51.100.1");
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("the plan 'retail' IP filter", body, StringComparison.Ordinal);

        // What is not an address is refused, and nothing changes.
        using (var bad = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/addresses", ("addresses", "10.1.2.3/8")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
            Assert.Contains("write &#x27;10.0.0.0/8&#x27; for the range", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await CallFromAsync(h, key, "192.0.2.5")).Status);

        // Emptied: any address the plan allows again; the change log says who did each.
        using (var any = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/addresses", ("addresses", "")))
        {
            Assert.Equal(HttpStatusCode.OK, any.StatusCode);
        }

        await Wait.UntilAsync(async () => (await CallFromAsync(h, key, "192.0.2.6")).Status == HttpStatusCode.OK, "the node to forget the allowed addresses");
        var page2 = await browser.PageAsync($"/apps/{id}");
        Assert.Contains("allow addresses 192.0.2.5, 198.51.100.0/24", page2, StringComparison.Ordinal);
        Assert.Contains("allow any address", page2, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThroughTheApi_TheListIsSetAndShown_AndWhatIsNotAListIsRefused()
    {
        await using var h = await StartAsync();
        using var browser = await h.ConsumerAsync("api-narrow@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Scripted");
        using var api = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "deploy"));
        StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

        using (var set = await api.PutAsync($"/api/v1/applications/{id}/allowed-addresses", Json("""{"allowedAddresses":["192.0.2.9","2001:db8::/32"]}""")))
        {
            var body = JsonNode.Parse(await set.Content.ReadAsStringAsync())!;
            Assert.True(set.StatusCode == HttpStatusCode.OK, body.ToJsonString());
            Assert.Equal("""["192.0.2.9","2001:db8::/32"]""", body["allowedAddresses"]!.ToJsonString());
        }

        Assert.Equal("""["192.0.2.9","2001:db8::/32"]""", JsonNode.Parse(await api.GetStringAsync($"/api/v1/applications/{id}"))!["allowedAddresses"]!.ToJsonString());
        using (var console = await ConsoleTests.ConsoleAsync(h))
        {
            var page = await console.PageAsync($"/console/applications/{id}");
            Assert.Contains("<td>192.0.2.9</td>", page, StringComparison.Ordinal);
            Assert.Contains("<td>2001:db8::/32</td>", page, StringComparison.Ordinal);
        }

        using (var admin = h.AdminClient())
        {
            var listed = JsonNode.Parse(await admin.GetStringAsync("/admin/portal/applications"))!["items"]!.AsArray().Single(a => a!["id"]!.GetValue<string>() == id)!;
            Assert.Equal("""["192.0.2.9","2001:db8::/32"]""", listed["allowedAddresses"]!.ToJsonString());
        }

        await Wait.UntilAsync(async () => (await CallFromAsync(h, key, "192.0.2.5")).Status == HttpStatusCode.Forbidden, "the node to learn the allowed addresses");
        Assert.Equal(HttpStatusCode.OK, (await CallFromAsync(h, key, "192.0.2.9")).Status);

        foreach (var (json, expected) in new[]
        {
            ("""{"allowedAddresses":"192.0.2.9"}""", HttpStatusCode.BadRequest),
            ("""{"allowedAddresses":[7]}""", HttpStatusCode.BadRequest),
            ("""{"allowedAddresses":[],"more":1}""", HttpStatusCode.BadRequest),
            ("""{"allowedAddresses":["not an address"]}""", HttpStatusCode.UnprocessableEntity),
            ("""{"allowedAddresses":["10.0.0.0/33"]}""", HttpStatusCode.UnprocessableEntity),
            ($$"""{"allowedAddresses":[{{string.Join(',', Enumerable.Range(1, 51).Select(i => $"\"192.0.2.{i}\""))}}]}""", HttpStatusCode.UnprocessableEntity),
        })
        {
            using var refused = await api.PutAsync($"/api/v1/applications/{id}/allowed-addresses", Json(json));
            Assert.Equal(expected, refused.StatusCode);
        }

        Assert.Equal("""["192.0.2.9","2001:db8::/32"]""", JsonNode.Parse(await api.GetStringAsync($"/api/v1/applications/{id}"))!["allowedAddresses"]!.ToJsonString());

        // Another account's application is not found.
        using var other = await h.ConsumerAsync("other-narrow@example.com");
        var (theirs, _) = await PortalHarness.CreateAppAsync(other, "retail", "Theirs");
        using (var notYours = await api.PutAsync($"/api/v1/applications/{theirs}/allowed-addresses", Json("""{"allowedAddresses":[]}""")))
        {
            Assert.Equal(HttpStatusCode.NotFound, notYours.StatusCode);
        }
    }
}
