using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>Authentication, refused bodies, validation, names, revisions and the OpenAPI document of the admin API.</summary>
public sealed class AdminApiTests
{
    private const string Service = """{"targets":["http://127.0.0.1:5101"]}""";

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Basic Z2hhX2FkbWluLXRva2VuLWZvci10ZXN0cw==")]
    public async Task AnyEndpoint_WithoutTheToken_Is401Problem(string? authorization)
    {
        await using var admin = await AdminHarness.StartAsync();
        using var client = new HttpClient { BaseAddress = admin.Client.BaseAddress };
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        foreach (var (method, path) in new[] { ("GET", "/admin/services"), ("PUT", "/admin/services/users"), ("GET", "/admin/openapi.json"), ("GET", "/admin/nowhere") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "PUT" ? new StringContent(Service) : null };
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal("urn:gatehouse:problem:admin-unauthorized", (string)(await AdminHarness.ReadObjectAsync(response))["type"]!);
        }

        Assert.Equal(0, await admin.Store.CurrentRevisionAsync());
    }

    [Theory]
    [InlineData("""{"targets": [""")]
    [InlineData("""[1, 2]""")]
    [InlineData("""not json""")]
    public async Task Put_MalformedOrNotAnObject_Is400(string body)
    {
        await using var admin = await AdminHarness.StartAsync();
        using var response = await admin.PutAsync("/admin/services/users", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("urn:gatehouse:problem:malformed-json", (string)(await AdminHarness.ReadObjectAsync(response))["type"]!);
        Assert.Equal(0, await admin.Store.CurrentRevisionAsync());
    }

    [Fact]
    public async Task Put_UnknownField_Is422WithItsPath()
    {
        await using var admin = await AdminHarness.StartAsync();
        using var response = await admin.PutAsync("/admin/services/users", """{"targets":["http://127.0.0.1:5101"],"colour":"red"}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var errors = (await AdminHarness.ReadObjectAsync(response))["errors"]!.AsArray();
        Assert.Contains(errors, e => (string)e!["path"]! == "services.users.colour");
    }

    [Fact]
    public async Task Put_BodyOverTheLimit_Is413()
    {
        await using var admin = await AdminHarness.StartAsync(maxBodySize: 1024);
        var big = """{"targets":["http://127.0.0.1:5101"],"x":""" + "\"" + new string('a', 2000) + "\"}";
        using var response = await admin.PutAsync("/admin/services/users", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("urn:gatehouse:problem:body-too-large", (string)(await AdminHarness.ReadObjectAsync(response))["type"]!);

        // Without Content-Length (chunked), the limit is counted while reading.
        using var chunked = new HttpRequestMessage(HttpMethod.Put, "/admin/services/users") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))) };
        chunked.Headers.TransferEncodingChunked = true;
        using var response2 = await admin.Client.SendAsync(chunked);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response2.StatusCode);
        Assert.Equal(0, await admin.Store.CurrentRevisionAsync());
    }

    [Fact]
    public async Task Put_InvalidReferences_Is422WithEveryPathAndNothingCommitted()
    {
        await using var admin = await AdminHarness.StartAsync();
        using var response = await admin.PutAsync("/admin/routes/hello", """{"methods":["GET"],"path":"/hello","service":"nowhere","timeout":"soon"}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await AdminHarness.ReadObjectAsync(response);
        Assert.Equal("urn:gatehouse:problem:invalid-config", (string)problem["type"]!);
        var paths = problem["errors"]!.AsArray().Select(e => (string)e!["path"]!).ToList();
        Assert.Contains("routes.hello.service", paths);
        Assert.Contains("routes.hello.timeout", paths);
        Assert.Equal(0, await admin.Store.CurrentRevisionAsync());
        Assert.Empty(admin.Applied);
    }

    [Theory]
    [InlineData("a'b\"; DROP TABLE resources;--")]
    [InlineData("café-ü")]
    [InlineData("name with spaces")]
    public async Task Put_NameOutsideTheRules_Is422QuotingTheNameLiterally(string name)
    {
        await using var admin = await AdminHarness.StartAsync();
        using var response = await admin.PutAsync("/admin/services/" + Uri.EscapeDataString(name), Service);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var errors = (await AdminHarness.ReadObjectAsync(response))["errors"]!.AsArray();
        Assert.Contains(errors, e => ((string)e!["path"]!).Contains(name, StringComparison.Ordinal) || ((string)e["message"]!).Contains(name, StringComparison.Ordinal));
        Assert.Equal(0, await admin.Store.CurrentRevisionAsync());
    }

    [Fact]
    public async Task Put_NameWithDotsDashesUnderscores_IsStoredAndReturnedLiterally()
    {
        await using var admin = await AdminHarness.StartAsync();
        const string name = "Users.v2-EU_west";
        using var created = await admin.PutAsync("/admin/services/" + name, Service);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(name, (string)(await AdminHarness.ReadObjectAsync(created))["name"]!);
        var stored = await admin.Store.GetAsync("service", name);
        Assert.Equal(Service, stored!.Body);
        using var list = await admin.Client.GetAsync("/admin/services");
        Assert.Equal(name, (string)(await AdminHarness.ReadObjectAsync(list))["items"]![0]!["name"]!);
    }

    [Fact]
    public async Task List_PagesWithLimitAndAfter()
    {
        await using var admin = await AdminHarness.StartAsync();
        foreach (var name in new[] { "c", "a", "b" })
        {
            await admin.PutOkAsync("/admin/accounts/" + name, """{"title":"T"}""");
        }

        using var first = await admin.Client.GetAsync("/admin/accounts?limit=2");
        var page1 = await AdminHarness.ReadObjectAsync(first);
        Assert.Equal(new[] { "a", "b" }, page1["items"]!.AsArray().Select(i => (string)i!["name"]!));
        Assert.Equal("b", (string)page1["next"]!);
        using var second = await admin.Client.GetAsync("/admin/accounts?limit=2&after=b");
        var page2 = await AdminHarness.ReadObjectAsync(second);
        Assert.Equal(new[] { "c" }, page2["items"]!.AsArray().Select(i => (string)i!["name"]!));
        Assert.Null(page2["next"]);
        using var bad = await admin.Client.GetAsync("/admin/accounts?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Gateway_PutAndGet_UsesTheSingleGatewayResource()
    {
        await using var admin = await AdminHarness.StartAsync();
        using var missing = await admin.Client.GetAsync("/admin/gateway");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await admin.PutOkAsync("/admin/gateway", """{"trustedProxies":["10.0.0.0/8"]}""");
        using var got = await admin.Client.GetAsync("/admin/gateway");
        Assert.Equal("""{"trustedProxies":["10.0.0.0/8"]}""", await got.Content.ReadAsStringAsync());
        Assert.NotNull(got.Headers.ETag);
        Assert.NotNull(await admin.Store.GetAsync("gateway", "gateway"));
    }

    [Fact]
    public async Task Revisions_ListGetDiffRollback_RestoresTheOldConfig()
    {
        await using var admin = await AdminHarness.StartAsync();
        await admin.PutOkAsync("/admin/services/users", Service);
        await admin.PutOkAsync("/admin/routes/hello", """{"methods":["GET"],"path":"/hello","service":"users"}""");
        using (var delete = await admin.Client.DeleteAsync("/admin/routes/hello"))
        {
            Assert.Equal(3, (long)(await AdminHarness.ReadObjectAsync(delete))["revision"]!);
        }

        using (var list = await admin.Client.GetAsync("/admin/revisions"))
        {
            var items = (await AdminHarness.ReadObjectAsync(list))["items"]!.AsArray();
            Assert.Equal(new long[] { 3, 2, 1 }, items.Select(i => (long)i!["revision"]!));
        }

        using (var at2 = await admin.Client.GetAsync("/admin/revisions/2"))
        {
            var document = await AdminHarness.ReadObjectAsync(at2);
            Assert.Equal(1, (int)document["version"]!);
            Assert.Equal("/hello", (string)document["routes"]!["hello"]!["path"]!);
        }

        using (var diff = await admin.Client.GetAsync("/admin/revisions/2/diff/3"))
        {
            var change = Assert.Single((await AdminHarness.ReadObjectAsync(diff))["changes"]!.AsArray())!;
            Assert.Equal("deleted", (string)change["change"]!);
            Assert.Equal("hello", (string)change["name"]!);
        }

        using (var rollback = await admin.Client.PostAsync("/admin/revisions/2/rollback", null))
        {
            Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
            Assert.Equal(4, (long)(await AdminHarness.ReadObjectAsync(rollback))["revision"]!);
        }

        using var route = await admin.Client.GetAsync("/admin/routes/hello");
        Assert.Equal(HttpStatusCode.OK, route.StatusCode);
        Assert.True(admin.Applied[^1].Routes.ContainsKey("hello"));

        using var audit = await admin.Client.GetAsync("/admin/audit?limit=1");
        var entries = await AdminHarness.ReadObjectAsync(audit);
        Assert.Equal("rollback", (string)entries["items"]![0]!["action"]!);
        Assert.NotNull(entries["next"]);

        using var none = await admin.Client.GetAsync("/admin/revisions/99");
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
    }

    [Fact]
    public async Task PrunedRevisions_Answer410_AndTheKeptOnesStillWork()
    {
        await using var admin = await AdminHarness.StartAsync();
        await admin.PutOkAsync("/admin/services/users", Service);
        await admin.PutOkAsync("/admin/routes/hello", """{"methods":["GET"],"path":"/hello","service":"users"}""");
        await admin.PutOkAsync("/admin/routes/hello", """{"methods":["GET"],"path":"/hello2","service":"users"}""");
        await admin.Store.PruneAsync(keepRevisions: 2, auditBefore: null);

        foreach (var (method, path) in new[] { ("GET", "/admin/revisions/1"), ("GET", "/admin/revisions/1/diff/3"), ("POST", "/admin/revisions/1/rollback") })
        {
            using var refused = await admin.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
            Assert.Equal(HttpStatusCode.Gone, refused.StatusCode);
            var problem = await AdminHarness.ReadObjectAsync(refused);
            Assert.Equal("urn:gatehouse:problem:revision-pruned", (string)problem["type"]!);
            Assert.Contains("keeps revisions 2 and later", (string)problem["detail"]!, StringComparison.Ordinal);
        }

        using (var diff = await admin.Client.GetAsync("/admin/revisions/2/diff/3"))
        {
            Assert.Equal(HttpStatusCode.OK, diff.StatusCode);
        }

        using var rollback = await admin.Client.PostAsync("/admin/revisions/2/rollback", null);
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        Assert.Equal("/hello", (string)(await AdminHarness.ReadObjectAsync(await admin.Client.GetAsync("/admin/routes/hello")))["path"]!);
    }

    [Fact]
    public async Task OpenApi_ListsTheAdminPaths()
    {
        await using var admin = await AdminHarness.StartAsync();
        using var response = await admin.Client.GetAsync("/admin/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var document = await AdminHarness.ReadObjectAsync(response);
        Assert.StartsWith("3.", (string)document["openapi"]!, StringComparison.Ordinal);
        var paths = document["paths"]!.AsObject();
        foreach (var section in new[] { "services", "routes", "plans", "accounts", "applications", "compositions" })
        {
            Assert.True(paths.ContainsKey($"/admin/{section}"), section);
            Assert.NotNull(paths[$"/admin/{section}/{{name}}"]!["put"]);
        }

        foreach (var path in new[] { "/admin/gateway", "/admin/applications/{name}/keys", "/admin/applications/{name}/keys/{handle}",
                     "/admin/applications/{name}/keys/{handle}/rotate",
                     "/admin/revisions", "/admin/revisions/{n}", "/admin/revisions/{a}/diff/{b}", "/admin/revisions/{n}/rollback", "/admin/audit" })
        {
            Assert.True(paths.ContainsKey(path), path);
        }

        // Every path the document names answers (with the token) something other than the fallback's 404.
        using var audit = await admin.Client.GetAsync("/admin/audit");
        Assert.Equal(HttpStatusCode.OK, audit.StatusCode);
    }

    [Fact]
    public async Task UnknownPath_Is404Problem()
    {
        await using var admin = await AdminHarness.StartAsync();
        using var response = await admin.Client.GetAsync("/admin/widgets");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
