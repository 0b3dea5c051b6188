using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>
/// Loading entries incrementally must give what loading the whole document gives: the same config (compared field by
/// field through serialization) and the same errors, after any sequence of changes, with only changed entries bound.
/// </summary>
public sealed class IncrementalConfigLoaderTests : IDisposable
{
    private const string Document = """
        {
          "version": 1,
          "gateway": { "trustedProxies": ["10.0.0.0/8"], "drainTimeout": "45s" },
          "services": {
            "users": { "targets": [{ "url": "http://10.0.0.5:5001", "weight": 3 }], "timeout": "1500ms" },
            "orders": {
              "targets": ["http://127.0.0.1:5003"],
              "openapi": { "file": "specs/orders.yaml" },
              "operations": {
                "orders.getOrder": { "tags": ["orders", "public"] },
                "orders.ping": { "method": "GET", "path": "/ping", "tags": ["ops"], "access": "write" }
              },
              "publish": { "basePath": "/api" }
            }
          },
          "routes": {
            "getUser": { "methods": ["GET"], "path": "/users/{id}", "service": "users", "timeout": "10s" },
            "a": { "path": "/a", "service": "users" },
            "a.b": { "path": "/a/b", "service": "users" },
            "order": { "operation": "orders.getOrder", "path": "/o/{id}" }
          },
          "plans": {
            "retail": { "include": [{ "route": "getUser", "access": "read" }, { "tag": "orders" }, { "path": "/**" }], "limits": [{ "requests": 10, "per": "second" }] }
          },
          "accounts": { "acme": { "title": "ACME 😀" } },
          "applications": {
            "shop": { "account": "acme", "plan": "retail", "keys": [{ "sha256": "0000000000000000000000000000000000000000000000000000000000000001" }] }
          },
          "compositions": {
            "card": {
              "path": "/users/{id}/card",
              "steps": { "user": { "service": "users", "path": "/users/{id}", "params": { "id": "@request.path.id" } } },
              "response": { "name": "@user.body.name" }
            }
          }
        }
        """;

    private readonly TempDirectory _dir = new();

    public IncrementalConfigLoaderTests() => FullDocumentTests.WriteOrdersSpec(_dir);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Load_IsTheWholeDocumentsLoad_AndBindsOnlyWhatChanged()
    {
        var loader = new IncrementalConfigLoader(_dir.Path, _ => null);
        var document = JsonNode.Parse(Document)!.AsObject();

        var first = AssertSameAsWholeDocument(loader, document);
        Assert.True(first.IsValid, string.Join("\n", first.Errors));
        Assert.Equal(11, loader.LastBound);

        document["routes"]!["getUser"]!["timeout"] = "3s";
        var changed = AssertSameAsWholeDocument(loader, document);
        Assert.Equal(1, loader.LastBound);
        Assert.Equal(TimeSpan.FromSeconds(3), changed.Config!.Routes["getUser"].Timeout);

        document["routes"]!.AsObject().Remove("a.b");
        AssertSameAsWholeDocument(loader, document);
        Assert.Equal(0, loader.LastBound);

        document["gateway"]!["drainTimeout"] = "5s";
        document["applications"]!["web"] = JsonNode.Parse("""{ "account": "acme", "plan": "retail" }""");
        AssertSameAsWholeDocument(loader, document);
        Assert.Equal(2, loader.LastBound);

        AssertSameAsWholeDocument(loader, document);
        Assert.Equal(0, loader.LastBound);
    }

    [Fact]
    public void Load_Errors_AreTheWholeDocumentsErrors_AndLeaveWithTheEntryThatHadThem()
    {
        var loader = new IncrementalConfigLoader(_dir.Path, _ => null);
        var document = JsonNode.Parse(Document)!.AsObject();
        AssertSameAsWholeDocument(loader, document);

        // A binding error in 'a.b' (not in 'a', whose path is a prefix of it), a validation error across entries,
        // a broken service that routes still name, and a bad plan reference.
        document["routes"]!["a.b"]!["timeout"] = "soon";
        document["routes"]!["a"]!["service"] = "nobody";
        document["services"]!["users"]!["timeout"] = "-";
        document["applications"]!["shop"]!["plan"] = "gold";
        var broken = AssertSameAsWholeDocument(loader, document);
        Assert.False(broken.IsValid);
        Assert.Contains(broken.Errors, e => e.Path == "routes.a.b.timeout");
        Assert.Contains(broken.Errors, e => e.Path.StartsWith("routes.a.service", StringComparison.Ordinal));
        Assert.Contains(broken.Errors, e => e.Path == "services.users.timeout");
        Assert.Contains(broken.Errors, e => e.Path.StartsWith("applications.shop.plan", StringComparison.Ordinal));
        Assert.All(broken.Errors, e => Assert.Null(e.Line));

        document["routes"]!["a.b"]!["timeout"] = "2s";
        var fixedOne = AssertSameAsWholeDocument(loader, document);
        Assert.Equal(1, loader.LastBound);
        Assert.DoesNotContain(fixedOne.Errors, e => e.Path.StartsWith("routes.a.b", StringComparison.Ordinal));

        document["routes"]!["a"]!["service"] = "users";
        document["services"]!["users"]!["timeout"] = "1s";
        document["applications"]!["shop"]!["plan"] = "retail";
        Assert.True(AssertSameAsWholeDocument(loader, document).IsValid);
    }

    [Fact]
    public void Load_KeyWrittenTwiceInABody_IsTheSyntaxError_AndKeepsNothing()
    {
        var loader = new IncrementalConfigLoader(_dir.Path, _ => null);
        var result = loader.Load([new ConfigEntry("routes", "x", """{"path":"/x","path":"/y","service":"s"}""")]);

        var error = Assert.Single(result.Errors);
        Assert.Contains("appears twice", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => loader.Load([new ConfigEntry("nonsense", "x", "{}")]));
        Assert.Throws<ArgumentException>(() => loader.Load([new ConfigEntry("routes", "x", "{not json")]));
    }

    // Loads the document both ways, asserts equal outcomes, and returns the incremental one.
    private ConfigLoadResult AssertSameAsWholeDocument(IncrementalConfigLoader loader, JsonObject document)
    {
        var whole = ConfigLoader.Load(document.ToJsonString(), _dir.Path, _ => null);
        var incremental = loader.Load(Entries(document));

        Assert.Equal(whole.Errors.Select(e => e with { Line = null }), incremental.Errors);
        Assert.Equal(whole.IsValid, incremental.IsValid);
        if (whole.Config is not null)
        {
            Assert.Equal(JsonSerializer.Serialize(whole.Config), JsonSerializer.Serialize(incremental.Config));
        }

        return incremental;
    }

    private static List<ConfigEntry> Entries(JsonObject document)
    {
        var entries = new List<ConfigEntry>();
        foreach (var (section, value) in document)
        {
            if (section == "version")
            {
                continue;
            }

            if (section == "gateway")
            {
                entries.Add(new ConfigEntry("gateway", "gateway", value!.ToJsonString()));
                continue;
            }

            foreach (var (name, body) in value!.AsObject())
            {
                entries.Add(new ConfigEntry(section, name, body!.ToJsonString()));
            }
        }

        return entries;
    }
}
