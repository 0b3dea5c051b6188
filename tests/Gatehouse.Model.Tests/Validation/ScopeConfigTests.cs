using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Validation;

/// <summary>Issue 23: <c>requireScopes</c> that cannot work (not a scope, nothing to check it with) is refused at load, with its path.</summary>
[Trait("Issue", "23")]
public sealed class ScopeConfigTests
{
    private static IReadOnlyList<string> Errors(string routeScopes, string operationScopes = "[]", string gateway = "{ introspection: { url: \"https://auth.example.com/introspect\" } }", bool plans = true, string compositionScopes = "[]")
    {
        var result = ConfigLoader.Load($$"""
            version: 1
            gateway: {{gateway}}
            services:
              api:
                targets: [http://127.0.0.1:9]
                operations:
                  orders.get: { method: GET, path: "/orders/{id}", requireScopes: {{operationScopes}} }
            routes:
              order: { operation: orders.get }
              items: { methods: [GET], path: "/items/{id}", service: api, requireScopes: {{routeScopes}} }
            compositions:
              card: { path: "/cards/{id}", requireScopes: {{compositionScopes}}, steps: { order: { operation: orders.get, params: { id: "@request.path.id" } } } }
            {{(plans ? "plans: { retail: { include: [ { route: items }, { operation: orders.get }, { operation: compositions.card } ] } }" : "")}}
            """, Path.GetTempPath());
        return [.. result.Errors.Select(e => e.ToString())];
    }

    private static void AssertErrorAt(IReadOnlyList<string> errors, string path) =>
        Assert.Contains(errors, e => e.StartsWith(path + ":", StringComparison.Ordinal) || e.StartsWith(path + " ", StringComparison.Ordinal));

    [Theory]
    [InlineData("[\"orders read\"]", "routes.items.requireScopes[0]")]
    [InlineData("[\"\"]", "routes.items.requireScopes[0]")]
    [InlineData("[\"say \\\"hi\\\"\"]", "routes.items.requireScopes[0]")]
    [InlineData("[\"orders:read\", \"orders:read\"]", "routes.items.requireScopes[1]")]
    [InlineData("[\"é\"]", "routes.items.requireScopes[0]")]
    public void ARouteScopeThatIsNoScope_IsRefused_WithItsPath(string scopes, string path) =>
        AssertErrorAt(Errors(scopes), path);

    [Fact]
    public void AnOperationScopeThatIsNoScope_IsRefused_WithItsPath() =>
        AssertErrorAt(Errors("[]", operationScopes: "[\"orders read\"]"), "services.api.operations.orders.get.requireScopes[0]");

    [Theory]
    [InlineData("[\"cards read\"]", "compositions.card.requireScopes[0]")]
    [InlineData("[\"cards:read\", \"cards:read\"]", "compositions.card.requireScopes[1]")]
    [InlineData("\"cards:read\"", "compositions.card.requireScopes")]
    public void ACompositionScopeThatIsNoScope_IsRefused_WithItsPath(string scopes, string path) =>
        AssertErrorAt(Errors("[]", compositionScopes: scopes), path);

    [Fact]
    public void CompositionScopes_WithoutABearerTokenSource_OrWithoutPlans_AreRefused()
    {
        AssertErrorAt(Errors("[]", compositionScopes: "[\"cards:read\"]", gateway: "{}"), "compositions.card.requireScopes");
        AssertErrorAt(Errors("[]", compositionScopes: "[\"cards:read\"]", plans: false), "compositions.card.requireScopes");
    }

    [Fact]
    public void Scopes_WithoutABearerTokenSource_OrWithoutPlans_AreRefused()
    {
        AssertErrorAt(Errors("[\"orders:read\"]", gateway: "{}"), "routes.items.requireScopes");
        AssertErrorAt(Errors("[]", operationScopes: "[\"orders:read\"]", plans: false), "services.api.operations.orders.get.requireScopes");
    }

    [Fact]
    public void WellFormedScopes_Load()
    {
        Assert.Empty(Errors("[\"orders:read\", \"https://graph.example.com/Orders.Read\", \"admin\"]", operationScopes: "[\"orders:read\"]", compositionScopes: "[\"cards:read\"]"));
        Assert.Empty(Errors("[]", plans: false));
    }
}
