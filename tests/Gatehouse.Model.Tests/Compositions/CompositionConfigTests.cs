using System.Text.Json.Nodes;
using Gatehouse.Model.Access;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Compositions;

/// <summary>Binding and validation of <c>compositions</c> (#4).</summary>
public sealed class CompositionConfigTests
{
    private static string With(string composition, string extra = "") => $$"""
        version: 1
        services:
          users:
            targets: [http://127.0.0.1:5001]
            operations:
              users.getUser: { method: GET, path: "/users/{id}" }
              users.head: { method: HEAD, path: "/users/{id}" }
          orders:
            targets: [http://127.0.0.1:5002]
            operations:
              orders.listOrders: { method: GET, path: /orders }
        compositions:
          history:
        {{string.Join("\n", composition.Split('\n').Select(l => "    " + l))}}
        {{extra}}
        """;

    private const string Valid = """
        path: "/users/{id}/history"
        deadline: 2s
        serverTiming: true
        maxBodySize: 64KB
        steps:
          user: { operation: users.getUser, params: { id: "@request.path.id" }, statusMap: { 404: 404 }, timeout: 500ms }
          orders: { operation: orders.listOrders, query: { userId: "@user.body.id" }, optional: true }
          each:
            service: users
            path: "/users/{id}"
            forEach: "@orders.body[*].items[*].productId"
            params: { id: "@item" }
            concurrency: 2
            batch: { param: ids }
        response:
          user: { "@value": "@user.body", "@select": [id, name] }
          literal: "@@not-a-reference"
        """;

    [Fact]
    public void Composition_Binds_EveryField()
    {
        var config = ConfigText.Valid(With(Valid));
        var c = config.Compositions["history"];
        Assert.Equal("GET", c.Method);
        Assert.Equal(TimeSpan.FromSeconds(2), c.Deadline);
        Assert.True(c.ServerTiming);
        Assert.Equal(64 * 1024, c.MaxBodySize);
        Assert.Equal("compositions.history", c.OperationIdOf("history"));
        Assert.Equal(404, c.Steps["user"].StatusMap[404]);
        Assert.Equal(TimeSpan.FromMilliseconds(500), c.Steps["user"].Timeout);
        Assert.True(c.Steps["orders"].Optional);
        Assert.Equal("ids", c.Steps["each"].Batch!.Param);
        Assert.Equal(",", c.Steps["each"].Batch!.Separator);
        Assert.Equal(2, c.Steps["each"].Concurrency);
        Assert.Equal("@@not-a-reference", c.Response!["literal"]!.GetValue<string>());
    }

    [Fact]
    public void Dependencies_AreInferredFromReferences_AndOrderSteps()
    {
        var config = ConfigText.Valid(With(Valid));
        var errors = new List<(string, string)>();
        var compiled = CompositionCompiler.Compile("history", config.Compositions["history"], config, Model.Operations.OperationIndex.Build(config), errors)!;
        Assert.Empty(errors);
        Assert.Equal(["user", "orders", "each"], compiled.Steps.Select(s => s.Name));
        Assert.Empty(compiled.Steps[0].Dependencies);
        Assert.Equal([0], compiled.Steps[1].Dependencies);
        Assert.Equal([1], compiled.Steps[2].Dependencies);
    }

    [Fact]
    public void ReadsHeaders_IsSetOnlyForStepsWhoseHeadersAReferenceReads()
    {
        var config = ConfigText.Valid(With(Valid.Replace("literal: \"@@not-a-reference\"", "type: \"@orders.headers.content-type\"", StringComparison.Ordinal)));
        var errors = new List<(string, string)>();
        var compiled = CompositionCompiler.Compile("history", config.Compositions["history"], config, Model.Operations.OperationIndex.Build(config), errors)!;

        Assert.Empty(errors);
        Assert.Equal(["orders"], compiled.Steps.Where(s => s.ReadsHeaders).Select(s => s.Name));
    }

    [Theory]
    [InlineData("steps: { a: { operation: users.nope, params: { id: '1' } } }", "compositions.history.steps.a.operation", "no operation 'users.nope'")]
    [InlineData("steps: { a: { service: nowhere, path: /x } }", "compositions.history.steps.a.service", "no service 'nowhere'")]
    [InlineData("steps: { a: { operation: users.getUser, params: { id: '@ghost.body.id' } } }", "compositions.history.steps.a.params.id", "not a step")]
    [InlineData("steps: { a: { operation: users.getUser } }", "compositions.history.steps.a.params", "needs a value for 'id'")]
    [InlineData("steps: { a: { operation: users.getUser, params: { id: '@request.path.nope' } } }", "compositions.history.steps.a.params.id", "no parameter 'nope'")]
    [InlineData("steps: { a: { operation: users.getUser, params: { id: '@request.cookies.x' } } }", "compositions.history.steps.a.params.id", "not a request value")]
    [InlineData("steps: { a: { operation: users.getUser, params: { id: '@item' } } }", "compositions.history.steps.a.params.id", "forEach")]
    [InlineData("steps: { h: { operation: users.head, params: { id: '1' } } }\nresponse: { x: '@h.body.id' }", "compositions.history.response", "HEAD")]
    [InlineData("steps: { a: { operation: orders.listOrders } }\nresponse: { x: { '@bogus': 1 } }", "compositions.history.response.x.@bogus", "not a template directive")]
    [InlineData("steps: { a: { operation: orders.listOrders } }\nresponse: { x: { '@lookup': '@a.body' } }", "compositions.history.response.x", "needs '@by'")]
    [InlineData("steps: { a: { operation: orders.listOrders } }\nresponse: { x: '@a.body[x]' }", "compositions.history.response.x", "'[x]'")]
    [InlineData("steps: { a: { operation: orders.listOrders, batch: { param: ids } } }", "compositions.history.steps.a.batch", "goes with 'forEach'")]
    [InlineData("steps: {}", "compositions.history.steps", "at least one step")]
    public void InvalidComposition_IsReportedWithItsPath(string body, string path, string expected)
    {
        var error = ConfigText.SingleError(With($"path: \"/users/{{id}}/history\"\n{body}"), path);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReferenceCycle_IsReportedNamingTheSteps()
    {
        var error = ConfigText.SingleError(With("""
            path: /cycle
            steps:
              a: { operation: orders.listOrders, query: { x: "@b.body.id" } }
              b: { operation: orders.listOrders, query: { x: "@a.body.id" } }
            """), "compositions.history.steps.a");
        Assert.Contains("a → b → a", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownStepKey_IsAnError()
    {
        var error = ConfigText.SingleError(With("path: /x\nsteps: { a: { operation: orders.listOrders, retries: 3 } }"), "compositions.history.steps.a.retries");
        Assert.Contains("retries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CompositionOverlappingARoute_IsAnError()
    {
        var error = ConfigText.SingleError(
            With("path: \"/users/{x}/history\"\nsteps: { a: { operation: orders.listOrders } }", "routes:\n  clash: { path: \"/users/{id}/history\", service: users }"),
            "compositions.history.path");
        Assert.Contains("route 'clash'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OperationIdTakenByAService_IsAnError() =>
        ConfigText.SingleError(With("path: /x\noperation: users.getUser\nsteps: { a: { operation: orders.listOrders } }"), "compositions.history.operation");

    [Fact]
    public void Plans_GrantCompositions_ByOperationIdAndPath()
    {
        var config = ConfigText.Valid(With(Valid, """
            plans:
              one: { include: [ { operation: compositions.history } ] }
              paths: { include: [ { path: "/users/*/history", access: read } ] }
              other: { include: [ { operation: users.getUser } ] }
            """));
        Assert.Equal(AccessFlags.Read, PlanGrants.Resolve(config.Plans["one"], config).Operations["compositions.history"]);
        Assert.True(PlanGrants.Resolve(config.Plans["paths"], config).Operations.ContainsKey("compositions.history"));
        Assert.False(PlanGrants.Resolve(config.Plans["other"], config).Operations.ContainsKey("compositions.history"));
    }

    [Fact]
    public void Template_ShapesJoinsAndSums()
    {
        var errors = new List<(string, string)>();
        var compiler = new TemplateCompiler(["orders", "products"], (p, m) => errors.Add((p, m)));
        var template = compiler.Compile(JsonNode.Parse("""
            { "orders": { "@each": "@orders.body", "@as": "o", "id": "@o.id",
                "items": { "@each": "@o.items", "@value": "@item", "product": { "@lookup": "@products", "@by": "@item.productId", "@select": ["name", "price"] } },
                "total": { "@sum": "@this.items", "@of": ["quantity", "product.price"] } },
              "ids": "@orders.body[*].items[*].productId",
              "renamed": { "@value": "@orders.body[0]", "@omit": ["items"], "@rename": { "id": "orderId" } } }
            """), "response", [], new HashSet<string>());
        Assert.Empty(errors);
        using var orders = System.Text.Json.JsonDocument.Parse("""{ "body": [ { "id": 1, "items": [ { "productId": 5, "quantity": 2 }, { "productId": "6", "quantity": 1 } ] } ] }""");
        using var products = System.Text.Json.JsonDocument.Parse("""{ "body": [ { "id": 5, "name": "A", "price": 1.5, "secret": 1 }, { "id": 6, "name": "B", "price": 10 } ] }""");
        var steps = new Dictionary<string, ElementValue>
        {
            ["orders"] = ElementValue.Of(orders.RootElement),
            ["products"] = ElementValue.Of(products.RootElement),
        };
        var result = new ElementEvaluator((ValueRef r, out int consumed) =>
        {
            consumed = 0;
            return steps.GetValueOrDefault(r.Root);
        }).Evaluate(template);
        Assert.Equal("""{"orders":[{"id":1,"items":[{"productId":5,"quantity":2,"product":{"name":"A","price":1.5}},{"productId":"6","quantity":1,"product":{"name":"B","price":10}}],"total":13.0}],"ids":[5,"6"],"renamed":{"orderId":1}}""", result.ToJsonString());
    }
}
