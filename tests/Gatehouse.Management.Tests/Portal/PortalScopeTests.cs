using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Model.Operations;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue 23: a plan's API document and page, served by the real portal, say which OAuth scopes each operation needs:
/// the operation's own <c>security</c> names the bearer scheme with its scopes (operation's and route's, a
/// composition's), and operations without scopes keep the plan's key or token.
/// </summary>
[Trait("Issue", "23")]
public sealed class PortalScopeTests
{
    private static string WithScopes(string yaml) => yaml
        .Replace("  listeners: [ { url: \"http://127.0.0.1:0\" } ]\n",
            "  listeners: [ { url: \"http://127.0.0.1:0\" } ]\n  introspection: { url: \"https://auth.example.test/introspect\" }\n", StringComparison.Ordinal)
        .Replace("users.getUser: { method: GET, path: \"/users/{id}\", tags: [users] }",
            "users.getUser: { method: GET, path: \"/users/{id}\", tags: [users], requireScopes: [\"users:read\"] }", StringComparison.Ordinal)
        .Replace("  users-put: { operation: users.updateUser }\n", """
              users-put: { operation: users.updateUser }
              users-audit: { operation: users.getUser, path: "/audit/users/{id}", requireScopes: ["users:audit", "users:read"] }
            compositions:
              card:
                path: "/cards/{id}"
                tags: [users]
                requireScopes: ["cards:read"]
                steps: { user: { operation: users.getUser, params: { id: "@request.path.id" } } }

            """.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);

    [Fact]
    public async Task PlanDocument_NamesEachOperationsScopes_OnTheBearerScheme_AndThePageListsThem()
    {
        await using var h = await PortalHarness.StartAsync(editYaml: WithScopes);
        using var browser = h.NewBrowser();

        using var response = await browser.GetAsync("/plans/wholesale/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.NotNull(OpenApiDocumentReader.Read(text, out var error));
        Assert.Null(error);
        var document = JsonNode.Parse(text)!;
        var paths = document["paths"]!;

        static string[] Scopes(JsonNode? operation) =>
            operation?["security"] is JsonArray security ? [.. Assert.Single(security)!["bearer"]!.AsArray().Select(s => (string)s!)] : [];

        Assert.Equal(["users:read"], Scopes(paths["/users/{id}"]!["get"]));
        // A route's scopes come after its operation's, each once.
        Assert.Equal(["users:read", "users:audit"], Scopes(paths["/audit/users/{id}"]!["get"]));
        Assert.Equal(["cards:read"], Scopes(paths["/cards/{id}"]!["get"]));
        Assert.Contains("`cards:read`; an API key is refused", (string?)paths["/cards/{id}"]!["get"]!["description"], StringComparison.Ordinal);
        // An operation without scopes keeps the document's own: the key, or a bearer token (opaque here: introspection).
        Assert.Null(paths["/users/{id}"]!["put"]!["security"]);
        var bearer = document["components"]!["securitySchemes"]!["bearer"]!;
        Assert.Equal("bearer", (string?)bearer["scheme"]);
        Assert.Null(bearer["bearerFormat"]);
        Assert.Equal(["apiKey", "bearer"], document["security"]!.AsArray().Select(r => r!.AsObject().Single().Key));

        var page = await browser.PageAsync("/plans/wholesale");
        Assert.Contains("<th scope=\"col\">OAuth scopes</th>", page, StringComparison.Ordinal);
        Assert.Contains("<td>users:read users:audit</td>", page, StringComparison.Ordinal);
        Assert.Contains("<td>cards:read</td>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortalApiPlans_GiveEachRoutesScopes_AsThePageDoes_AndEmptyWhereNone()
    {
        await using var h = await PortalHarness.StartAsync(editYaml: WithScopes);
        using var browser = await h.ConsumerAsync("scopes@example.com");
        using var api = PortalApiTests.Api(h, await PortalApiTests.MakeTokenAsync(browser, "ci", scope: "read"));

        using var response = await api.GetAsync("/api/v1/plans");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var wholesale = JsonNode.Parse(text)!["items"]!.AsArray().Single(p => (string?)p!["name"] == "wholesale")!;
        var operations = wholesale["operations"]!.AsArray()
            .ToDictionary(o => $"{(string?)o!["method"]} {(string?)o["path"]}", o => o!["requireScopes"]!.AsArray().Select(s => (string)s!).ToArray());

        // users.getUser is served on two routes: each has its own scopes, the audit route's after the operation's.
        Assert.Equal(["users:read"], operations["GET /users/{id}"]);
        Assert.Equal(["users:read", "users:audit"], operations["GET /audit/users/{id}"]);
        Assert.Equal(["cards:read"], operations["GET /cards/{id}"]);
        Assert.Empty(operations["PUT /users/{id}"]);

        // The portal API's own document describes the field.
        var document = JsonNode.Parse(await (await api.GetAsync("/api/v1/openapi.json")).Content.ReadAsStringAsync())!;
        var operation = document["components"]!["schemas"]!["Plan"]!["properties"]!["operations"]!["items"]!["properties"]!;
        Assert.Equal("array", (string?)operation["requireScopes"]!["type"]);
        Assert.NotNull(operation["method"]);
        Assert.NotNull(operation["path"]);
    }

    [Fact]
    public async Task APlanWithoutScopedOperations_HasNoScopesColumn_AndNoOperationSecurity()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = h.NewBrowser();

        var document = JsonNode.Parse(await (await browser.GetAsync("/plans/wholesale/openapi.json")).Content.ReadAsStringAsync())!;

        Assert.All(document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject()), op => Assert.Null(op.Value!["security"]));
        Assert.DoesNotContain("OAuth scopes", await browser.PageAsync("/plans/wholesale"), StringComparison.Ordinal);
    }
}
