using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Model.Access;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>Every key is addressable, also one written in a config file with its hash only; a key born expired is refused (issue 24).</summary>
[Trait("Issue", "24")]
public sealed class AdminKeyHandleTests
{
    private static readonly string FileKey = ApiKeyHash.Sha256Hex("ghk_from-a-config-file");

    private static async Task<AdminHarness> StartWithFileKeyAsync()
    {
        var admin = await AdminHarness.StartAsync();
        await admin.PutOkAsync("/admin/services/backend", """{"targets":["http://127.0.0.1:9"]}""");
        await admin.PutOkAsync("/admin/routes/hello", """{"methods":["GET"],"path":"/hello","service":"backend"}""");
        await admin.PutOkAsync("/admin/plans/retail", """{"include":[{"route":"hello"}]}""");
        await admin.PutOkAsync("/admin/accounts/acme", """{"title":"ACME"}""");
        // As a config file (the demo's) writes it: the hash, no prefix.
        await admin.PutOkAsync("/admin/applications/shop", $$"""{"account":"acme","plan":"retail","keys":[{"sha256":"{{FileKey}}"}]}""");
        return admin;
    }

    [Fact]
    public async Task KeyWithoutPrefix_IsListedWithAHandle_AndRevokedByIt()
    {
        await using var admin = await StartWithFileKeyAsync();
        using var list = await admin.Client.GetAsync("/admin/applications/shop/keys");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var item = Assert.Single((await AdminHarness.ReadObjectAsync(list))["items"]!.AsArray())!;
        var handle = (string)item["handle"]!;
        Assert.Equal(FileKey[..16], handle);

        using var revoked = await admin.Client.DeleteAsync("/admin/applications/shop/keys/" + handle);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        var application = JsonNode.Parse((await admin.Store.GetAsync("application", "shop"))!.Body)!;
        Assert.Empty(application["keys"]!.AsArray());
    }

    [Fact]
    public async Task KeyWithoutPrefix_IsRotatedByItsHandle()
    {
        await using var admin = await StartWithFileKeyAsync();
        using var rotated = await admin.Client.PostAsync($"/admin/applications/shop/keys/{FileKey[..16]}/rotate", new StringContent("""{"grace":"1h"}""", Encoding.UTF8, "application/json"));
        var text = await rotated.Content.ReadAsStringAsync();
        Assert.True(rotated.StatusCode == HttpStatusCode.Created, text);
        var keys = JsonNode.Parse((await admin.Store.GetAsync("application", "shop"))!.Body)!["keys"]!.AsArray();
        Assert.Equal(2, keys.Count);
        Assert.NotNull(keys.Single(k => (string)k!["sha256"]! == FileKey)!["expires"]);
    }

    [Fact]
    public async Task UnknownHandle_Is404_SayingWhereTheHandlesAre()
    {
        await using var admin = await StartWithFileKeyAsync();
        using var response = await admin.Client.DeleteAsync("/admin/applications/shop/keys/0000000000000000");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("GET /admin/applications/shop/keys", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2025-01-01T00:00:00Z")]
    [InlineData("2026-01-01T12:00:00Z")]
    public async Task NewKeyThatIsAlreadyExpired_Is422WithThePath(string expires)
    {
        // The harness's clock says 2026-01-01T12:00:00Z.
        await using var admin = await StartWithFileKeyAsync();
        using var response = await admin.Client.PostAsync("/admin/applications/shop/keys", new StringContent($$"""{"expires":"{{expires}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await AdminHarness.ReadObjectAsync(response);
        Assert.Equal("urn:gatehouse:problem:invalid-key", (string)problem["type"]!);
        Assert.Equal("expires", (string)problem["errors"]![0]!["path"]!);
        var keys = JsonNode.Parse((await admin.Store.GetAsync("application", "shop"))!.Body)!["keys"]!.AsArray();
        Assert.Single(keys);
    }
}
