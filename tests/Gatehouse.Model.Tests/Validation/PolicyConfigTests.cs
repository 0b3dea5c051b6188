using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Validation;

/// <summary>Issue 23: policy config that would let clients inject headers, leak credentials or reflect any origin is refused at load, with its path.</summary>
[Trait("Issue", "23")]
public sealed class PolicyConfigTests
{
    private static IReadOnlyList<string> Errors(string policies, string extra = "") => [.. ConfigLoader.Load($$$"""
        version: 1
        {{{extra}}}
        services:
          api:
            targets: [http://127.0.0.1:9]
            credential: { header: X-Service-Token, env: PATH }
        routes:
          items:
            methods: [GET]
            path: "/items/{id}"
            service: api
            policies: {{POLICIES}}
        """.Replace("{{POLICIES}}", policies.ReplaceLineEndings(" "), StringComparison.Ordinal), Path.GetTempPath()).Errors.Select(e => e.ToString())];

    [Theory]
    [InlineData("{ transform: { request: { headers: { remove: [Gatehouse-Plan] } } } }", "routes.items.policies.transform.request.headers.remove[0]")]
    [InlineData("{ transform: { request: { headers: { set: { Gatehouse-Application: x } } } } }", "routes.items.policies.transform.request.headers.set.Gatehouse-Application")]
    [InlineData("{ transform: { request: { headers: { set: { X-Forwarded-For: 1.2.3.4 } } } } }", "routes.items.policies.transform.request.headers.set.X-Forwarded-For")]
    [InlineData("{ transform: { request: { headers: { add: { Authorization: \"Bearer s3cret\" } } } } }", "routes.items.policies.transform.request.headers.add.Authorization")]
    [InlineData("{ transform: { request: { headers: { set: { X-Api-Key: k } } } } }", "routes.items.policies.transform.request.headers.set.X-Api-Key")]
    [InlineData("{ transform: { request: { headers: { set: { X-Service-Token: t } } } } }", "routes.items.policies.transform.request.headers.set.X-Service-Token")]
    [InlineData("{ transform: { request: { headers: { remove: [X-Service-Token] } } } }", "routes.items.policies.transform.request.headers.remove[0]")]
    [InlineData("{ transform: { request: { headers: { remove: [Transfer-Encoding] } } } }", "routes.items.policies.transform.request.headers.remove[0]")]
    [InlineData("{ transform: { request: { headers: { set: { X-A: \"@request.nope\" } } } } }", "routes.items.policies.transform.request.headers.set.X-A")]
    [InlineData("{ transform: { request: { path: \"/v2/{nope}\" } } }", "routes.items.policies.transform.request.path")]
    [InlineData("{ transform: { response: { headers: { set: { Access-Control-Allow-Origin: \"*\" } } } } }", "routes.items.policies.transform.response.headers.set.Access-Control-Allow-Origin")]
    [InlineData("{ transform: { response: { status: { 999: 200 } } } }", "routes.items.policies.transform.response.status.999")]
    [InlineData("{ transform: { response: { body: { \"@value\": \"@nope.body\" } } } }", "routes.items.policies.transform.response.body.@value")]
    [InlineData("{ cors: { origins: [\"*\"], credentials: true } }", "routes.items.policies.cors.origins[0]")]
    [InlineData("{ cors: { origins: [\"null\"] } }", "routes.items.policies.cors.origins[0]")]
    [InlineData("{ cors: { origins: [\"https://*evil.com\"] } }", "routes.items.policies.cors.origins[0]")]
    [InlineData("{ cors: { origins: [\"https://a.example.com/path\"] } }", "routes.items.policies.cors.origins[0]")]
    [InlineData("{ cors: { portal: true } }", "routes.items.policies.cors.portal")]
    [InlineData("{ ipFilter: { allow: [10.0.0.0/33] } }", "routes.items.policies.ipFilter.allow[0]")]
    [InlineData("{ validate: { request: enforce } }", "routes.items.policies.validate")]
    [InlineData("{ cache: { ttl: 0s } }", "routes.items.policies.cache.ttl")]
    [InlineData("{ compress: { types: [json] } }", "routes.items.policies.compress.types[0]")]
    [InlineData("{ compress: { types: [\"application/json; charset=utf-8\"] } }", "routes.items.policies.compress.types[0]")]
    [InlineData("{ compress: { level: best } }", "routes.items.policies.compress.level")]
    [InlineData("{ grpcWeb: {} }", "routes.items.policies.grpcWeb")]
    [InlineData("{ respond: { status: 700 } }", "routes.items.policies.respond.status")]
    [InlineData("{ respond: { status: 101 } }", "routes.items.policies.respond.status")]
    [InlineData("{ respond: { headers: { Content-Length: \"5\" } } }", "routes.items.policies.respond.headers.Content-Length")]
    [InlineData("{ respond: { headers: { X-A: \"a\\r\\nSet-Cookie: b\" } } }", "routes.items.policies.respond.headers.X-A")]
    [InlineData("{ respond: { headers: { X-A: \"@request.nope\" } } }", "routes.items.policies.respond.headers.X-A")]
    [InlineData("{ respond: { location: \"/v2/items/{id}\" } }", "routes.items.policies.respond.location")]
    [InlineData("{ respond: { status: 301, location: \"/v2/items/{nope}\" } }", "routes.items.policies.respond.location")]
    [InlineData("{ respond: { status: 301, location: \"/v2/{@request.nope}\" } }", "routes.items.policies.respond.location")]
    [InlineData("{ respond: { status: 301, location: \"v2/items\" } }", "routes.items.policies.respond.location")]
    [InlineData("{ respond: { status: 301, location: \"javascript:alert(1)\" } }", "routes.items.policies.respond.location")]
    [InlineData("{ respond: { status: 301, location: \"/v2/new items\" } }", "routes.items.policies.respond.location")]
    [InlineData("{ respond: { status: 301, location: \"/v2\", headers: { location: \"/v3\" } } }", "routes.items.policies.respond.headers.location")]
    [InlineData("{ respond: { status: 301, keepQuery: true } }", "routes.items.policies.respond.keepQuery")]
    public void UnsafeOrWrongPolicy_IsRefusedAtLoad_WithItsPath(string policies, string path)
    {
        var errors = Errors(policies);

        Assert.Contains(errors, e => e.StartsWith(path + ":", StringComparison.Ordinal) || e.StartsWith(path + " ", StringComparison.Ordinal) || e.Contains(path, StringComparison.Ordinal));
    }

    private static IReadOnlyList<string> PlanErrors(string serviceCors, string itemsCors, string plan) => [.. ConfigLoader.Load($$"""
        version: 1
        services:
          api: { targets: ["http://127.0.0.1:9"]{{(serviceCors.Length > 0 ? ", policies: { cors: " + serviceCors + " }" : "")}} }
        routes:
          items: { methods: [GET], path: "/items/{id}", service: api{{(itemsCors.Length > 0 ? ", policies: { cors: " + itemsCors + " }" : "")}} }
          public: { methods: [GET], path: "/public", service: api, policies: { cors: { origins: ["https://app.example.com"] } } }
        plans:
          open: {{plan}}
        """, Path.GetTempPath()).Errors.Select(e => e.ToString())];

    [Theory]
    [InlineData("", "{ origins: [\"https://app.example.com\"], credentials: true }", "{ anonymous: true, include: [ { route: items } ], corsOrigins: [\"*\"] }")]
    [InlineData("{ origins: [\"https://app.example.com\"], credentials: true }", "", "{ anonymous: true, include: [ { path: \"/**\" } ], corsOrigins: [\"https://ok.example.com\", \"*\"] }")]
    [InlineData("", "{ origins: [\"https://app.example.com\"], credentials: true }", "{ mode: shadow, include: [ { route: public } ], corsOrigins: [\"*\"] }")]
    public void PlanWildcardOrigin_ReachingARouteWithCredentials_IsRefused_WithThePlansPathAndTheRoute(string serviceCors, string itemsCors, string plan)
    {
        var errors = PlanErrors(serviceCors, itemsCors, plan);

        var error = Assert.Single(errors, e => e.Contains("plans.open.corsOrigins", StringComparison.Ordinal));
        var index = plan.Contains("ok.example.com", StringComparison.Ordinal) ? 1 : 0;
        Assert.StartsWith($"plans.open.corsOrigins[{index}]", error, StringComparison.Ordinal);
        Assert.Contains("route 'items'", error, StringComparison.Ordinal);
        Assert.Contains(serviceCors.Length > 0 ? "services.api.policies.cors" : "routes.items.policies.cors", error, StringComparison.Ordinal);
        Assert.Contains("credentials: true", error, StringComparison.Ordinal);
    }

    [Fact]
    public void PlanWildcardOrigin_GrantingAnOperation_WhoseRouteHasItsServicesCredentialedCors_IsRefused()
    {
        var errors = ConfigLoader.Load("""
            version: 1
            services:
              users:
                targets: ["http://127.0.0.1:9"]
                operations:
                  users.get: { method: GET, path: "/users/{id}" }
                policies: { cors: { origins: ["https://app.example.com"], credentials: true } }
            routes:
              getUser: { operation: users.get }
            plans:
              open: { anonymous: true, include: [ { operation: users.get } ], corsOrigins: ["*"] }
            """, Path.GetTempPath()).Errors.Select(e => e.ToString()).ToList();

        var error = Assert.Single(errors);
        Assert.StartsWith("plans.open.corsOrigins[0]: ", error, StringComparison.Ordinal);
        Assert.Contains("route 'getUser'", error, StringComparison.Ordinal);
        Assert.Contains("services.users.policies.cors", error, StringComparison.Ordinal);
    }

    [Fact]
    public void PlanWildcardOrigin_OnRoutesWithoutCredentials_StillLoads()
    {
        // The plan grants only 'public', whose CORS has no credentials; 'items' has them but the plan does not reach it.
        var errors = PlanErrors("", "{ origins: [\"https://app.example.com\"], credentials: true }", "{ anonymous: true, include: [ { route: public } ], corsOrigins: [\"*\"] }");

        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("{ ttl: 30s }", "query: { set: { lang: \"@request.headers.Accept-Language\" } }", "query.set.lang")]
    [InlineData("{ ttl: 30s }", "headers: { set: { X-Lang: \"@request.headers.Accept-Language\" } }", "headers.set.X-Lang")]
    [InlineData("{ ttl: 30s }", "headers: { add: { X-Lang: \"@request.headers.Accept-Language\" } }", "headers.add.X-Lang")]
    [InlineData("{ ttl: 30s }", "path: \"/items/{@request.headers.X-Tenant}\"", "path")]
    public void CachedRoute_WithARequestTransformThatSendsAnUnkeyedHeader_IsRefused(string cache, string request, string at)
    {
        // Cache poisoning: the service answers by a header the key does not hold, and that answer is served to everyone.
        var errors = Errors($"{{ cache: {cache}, transform: {{ request: {{ {request} }} }} }}");

        var error = Assert.Single(errors);
        Assert.StartsWith($"routes.items.policies.transform.request.{at}", error, StringComparison.Ordinal);
        Assert.Contains("to the cache's 'headers'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ ttl: 30s, headers: [Accept-Language] }", "query: { set: { lang: \"@request.headers.Accept-Language\" } }")]
    [InlineData("{ ttl: 30s }", "headers: { set: { X-Trace: \"@request.id\" } }")]
    [InlineData("{ ttl: 30s }", "query: { set: { v: \"2\" } }")]
    public void CachedRoute_WithARequestTransformThatSendsWhatTheKeyHolds_Loads(string cache, string request) =>
        Assert.Empty(Errors($"{{ cache: {cache}, transform: {{ request: {{ {request} }} }} }}"));

    [Theory]
    [InlineData("{ ttl: 30s }", "{ \"trace\": \"@request.id\" }", "body.trace", "'@request.id' is new on every request")]
    [InlineData("{ ttl: 30s }", "{ \"@value\": \"@response.body\", \"lang\": [\"@request.headers.Accept-Language\"] }", "body.lang[0]", "Add 'Accept-Language' to the cache's 'headers'")]
    [InlineData("{ ttl: 30s, per: plan }", "{ \"for\": \"@request.application\" }", "body.for", "per-plan cache")]
    [InlineData("{ ttl: 30s, shared: true }", "{ \"for\": \"@request.application\" }", "body.for", "shared cache")]
    [InlineData("{ ttl: 30s, shared: true }", "{ \"plan\": \"@request.plan\" }", "body.plan", "shared cache")]
    public void CachedRoute_WithABodyTemplateThatWritesARequestValueTheKeyDoesNotHold_IsRefused(string cache, string body, string at, string says)
    {
        var errors = Errors($"{{ cache: {cache}, transform: {{ response: {{ body: {body} }} }} }}");

        var error = Assert.Single(errors);
        Assert.StartsWith($"routes.items.policies.transform.response.{at}", error, StringComparison.Ordinal);
        Assert.Contains(says, error, StringComparison.Ordinal);
        Assert.Contains("response header", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CachedRoute_WithTheServicesDefaultBodyTemplate_IsRefusedAtTheRoute_NamingTheTemplatesPath()
    {
        var errors = ConfigLoader.Load("""
            version: 1
            services:
              api: { targets: [http://127.0.0.1:9], policies: { transform: { response: { body: { trace: "@request.id" } } } } }
            routes:
              items: { methods: [GET], path: "/items/{id}", service: api, policies: { cache: { ttl: 30s } } }
            """, Path.GetTempPath()).Errors.Select(e => e.ToString());

        var error = Assert.Single(errors);
        Assert.StartsWith("routes.items.policies", error, StringComparison.Ordinal);
        Assert.Contains("transform.response.body.trace", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ ttl: 30s, headers: [accept-language] }", "{ \"lang\": \"@request.headers.Accept-Language\", \"id\": \"@request.path.id\" }")]
    [InlineData("{ ttl: 30s }", "{ \"for\": \"@request.application\", \"plan\": \"@request.plan\", \"q\": \"@request.query.q\", \"at\": \"@@request.id\" }")]
    [InlineData("{ ttl: 30s, per: plan }", "{ \"plan\": \"@request.plan\" }")]
    [InlineData("{ enabled: false }", "{ \"trace\": \"@request.id\" }")]
    public void CachedRoute_WithABodyTemplateReadingOnlyWhatTheKeyHolds_Loads(string cache, string body) =>
        Assert.Empty(Errors($"{{ cache: {cache}, transform: {{ response: {{ body: {body} }} }} }}"));

    [Fact]
    public void SharedCache_WithResponseHeadersThatNameWhoAsked_Loads_ButARequestTransformSendingItIsRefused()
    {
        // Header values from the request are written anew on every answer, hit or miss; what the service is sent shapes the answer kept.
        Assert.Empty(Errors("{ cache: { ttl: 30s, shared: true }, transform: { response: { headers: { set: { X-For: \"@request.application\", X-Trace: \"@request.id\" } } } } }"));
        Assert.Contains(Errors("{ cache: { ttl: 30s, shared: true }, transform: { request: { headers: { set: { X-For: \"@request.application\" } } } } }"),
            e => e.Contains("shared cache", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidPolicies_Load()
    {
        var errors = Errors("""
            { cors: { origins: ["https://app.example.com", "https://*.example.org", "http://127.0.0.1:8083"] },
              ipFilter: { deny: [192.0.2.0/24] },
              cache: { ttl: 30s, query: [page], headers: [Accept-Language] },
              transform: { request: { headers: { set: { X-Id: "@request.id" } }, path: "/v2/{id}" }, response: { status: { 404: 204 } } } }
            """);
        var redirect = Errors("""
            { respond: { status: 308, location: "https://api.example.com/v2/items/{id}?from={@request.application}", keepQuery: true,
                         headers: { X-Id: "@request.id", X-Literal: "@@home" } } }
            """);

        Assert.Empty(redirect);

        Assert.Empty(errors);
    }
}
