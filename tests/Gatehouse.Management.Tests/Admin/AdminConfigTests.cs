using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>GET and POST /admin/config (#5 item 3): the whole configuration replaced in one revision, with its diff.</summary>
public sealed class AdminConfigTests
{
    private const string Document = """
        {
          "version": 1,
          "services": { "users": { "targets": ["http://127.0.0.1:5101"] } },
          "routes": { "users-get": { "methods": ["GET"], "path": "/users/{id}", "service": "users" } },
          "plans": { "retail": { "approvalRequired": true } },
          "accounts": { "acme": {} },
          "applications": { "shop": { "account": "acme", "plan": "retail" } }
        }
        """;

    [Fact]
    public async Task PostConfig_DryRun_AnswersTheDiffAndCommitsNothing()
    {
        await using var admin = await AdminHarness.StartAsync();
        await admin.PutOkAsync("/admin/services/old", """{"targets":["http://127.0.0.1:5109"]}""");

        var answer = await PostOkAsync(admin, "/admin/config?dryRun=true", Document);

        Assert.True((bool)answer["dryRun"]!);
        Assert.False((bool)answer["changed"]!);
        Assert.Equal(1, (long)answer["revision"]!);
        Assert.Equal(5, (int)answer["created"]!);
        Assert.Equal(1, (int)answer["deleted"]!);
        Assert.Contains(answer["changes"]!.AsArray(), c => (string)c!["kind"]! == "service" && (string)c["name"]! == "old" && (string)c["change"]! == "delete");
        Assert.Equal(1, await admin.Store.CurrentRevisionAsync());
        Assert.Single(admin.Applied);
    }

    [Fact]
    public async Task PostConfig_Twice_IsOneRevisionThenNoChangeAndNoRevision()
    {
        await using var admin = await AdminHarness.StartAsync();
        await admin.PutOkAsync("/admin/services/old", """{"targets":["http://127.0.0.1:5109"]}""");

        var first = await PostOkAsync(admin, "/admin/config", Document);
        Assert.True((bool)first["changed"]!);
        Assert.Equal(2, (long)first["revision"]!);
        Assert.Equal((5, 0, 1), ((int)first["created"]!, (int)first["updated"]!, (int)first["deleted"]!));
        Assert.Equal(ApplicationState.Live, admin.Applied[^1].Applications["shop"].State);

        // Whitespace and key order are not changes: bodies are compared as JSON values.
        var reordered = JsonNode.Parse(Document)!.ToJsonString();
        var second = await PostOkAsync(admin, "/admin/config", reordered);
        Assert.False((bool)second["changed"]!);
        Assert.Equal((0, 0, 0), ((int)second["created"]!, (int)second["updated"]!, (int)second["deleted"]!));
        Assert.Equal(2, await admin.Store.CurrentRevisionAsync());

        var revisions = await admin.Store.ListRevisionsAsync();
        Assert.Equal("POST /admin/config", revisions[0].Summary);
        var audit = await admin.Store.ListAuditAsync();
        Assert.Equal(6, audit.Count(a => a.Revision == 2));
    }

    [Fact]
    public async Task PostConfig_Invalid_Is422WithEveryPathAndChangesNothing()
    {
        await using var admin = await AdminHarness.StartAsync();
        await admin.PutOkAsync("/admin/services/old", """{"targets":["http://127.0.0.1:5109"]}""");
        const string bad = """
            { "version": 1,
              "routes": { "r": { "methods": ["GET"], "path": "/r", "service": "nowhere" } },
              "services": { "s": { "targets": ["http://127.0.0.1:1"], "colour": "red" } } }
            """;

        using var response = await PostAsync(admin, "/admin/config", bad);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var paths = (await AdminHarness.ReadObjectAsync(response))["errors"]!.AsArray().Select(e => (string)e!["path"]!).ToList();
        Assert.Contains("routes.r.service", paths);
        Assert.Contains(paths, p => p.StartsWith("services.s.colour", StringComparison.Ordinal));
        Assert.Equal(1, await admin.Store.CurrentRevisionAsync());

        using var wrongVersion = await PostAsync(admin, "/admin/config", """{"version":2,"colours":{}}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrongVersion.StatusCode);
        var wrongPaths = (await AdminHarness.ReadObjectAsync(wrongVersion))["errors"]!.AsArray().Select(e => (string)e!["path"]!).ToList();
        Assert.Equal(["version", "colours"], wrongPaths);
    }

    [Fact]
    public async Task GetConfig_HasTheRevisionAsETag_AndPostHonoursIfMatch()
    {
        await using var admin = await AdminHarness.StartAsync();
        await admin.PutOkAsync("/admin/services/old", """{"targets":["http://127.0.0.1:5109"]}""");

        using var got = await admin.Client.GetAsync("/admin/config");
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal("\"revision-1\"", got.Headers.ETag!.Tag);
        var document = await AdminHarness.ReadObjectAsync(got);
        Assert.Equal("http://127.0.0.1:5109", (string)document["services"]!["old"]!["targets"]![0]!);

        using (var stale = await PostAsync(admin, "/admin/config", Document, "\"revision-0\""))
        {
            Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        }

        Assert.Equal(1, await admin.Store.CurrentRevisionAsync());
        using var current = await PostAsync(admin, "/admin/config", Document, "\"revision-1\"");
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        Assert.Equal("\"revision-2\"", current.Headers.ETag!.Tag);
    }

    [Fact]
    public async Task PostConfig_WrongToken_Is401AndChangesNothing()
    {
        await using var admin = await AdminHarness.StartAsync();
        using var client = new HttpClient { BaseAddress = admin.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "gha_wrong");

        using var response = await client.PostAsync("/admin/config", new StringContent(Document, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, await admin.Store.CurrentRevisionAsync());
    }

    internal static async Task<HttpResponseMessage> PostAsync(AdminHarness admin, string path, string json, string? ifMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await admin.Client.SendAsync(request);
    }

    internal static async Task<JsonObject> PostOkAsync(AdminHarness admin, string path, string json)
    {
        using var response = await PostAsync(admin, path, json);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}
