using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Validation;

public sealed class RouteValidationTests
{
    [Fact]
    public void Route_ToUndefinedService_SuggestsTheClosestName()
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            getUser:
              path: /users/{id}
              service: user
            """), "routes.getUser.service");

        Assert.Equal("service 'user' is not defined; did you mean 'users'?", error.Message);
    }

    [Fact]
    public void Route_ToUndefinedServiceWithNothingClose_SaysToDefineIt()
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            billing:
              path: /billing
              service: invoicing
            """), "routes.billing.service");

        Assert.Equal("service 'invoicing' is not defined; define it under 'services' or fix the name.", error.Message);
    }

    [Fact]
    public void Route_ToServiceThatFailedToBind_ReportsOnlyTheServicesError()
    {
        // 'users' is defined, just wrongly; saying it is "not defined" would send the user looking in the wrong place.
        var result = ConfigText.Load("""
            version: 1
            services:
              users: http://127.0.0.1:5001
            routes:
              users:
                path: /users
                service: users
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("services.users", error.Path);
    }

    [Theory]
    [InlineData("/users/{id}", "/USERS/{name}")]
    [InlineData("/users/{id}", "/users/{id}/")]
    [InlineData("/files/{**rest}", "/Files/{**path}")]
    [InlineData("/", "/")]
    public void Routes_SameShape_AreDuplicates(string first, string second)
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes($"""
            a:
              path: "{first}"
              service: users
            b:
              path: "{second}"
              service: orders
            """), "routes.b.path");

        Assert.Contains("route 'b' matches the same requests as route 'a'", error.Message, StringComparison.Ordinal);
        Assert.Contains("change the path, host or methods", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[GET, POST]", "[post]")]
    [InlineData("[GET]", "[]")]
    [InlineData("GET", "[DELETE, GET]")]
    public void Routes_SameShapeOverlappingMethods_AreDuplicates(string first, string second)
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes($"""
            a:
              methods: {first}
              path: /users/{"{id}"}
              service: users
            b:
              methods: {second}
              path: /users/{"{name}"}
              service: users
            """), "routes.b.path");

        Assert.Contains("'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Routes_SameShapeDisjointMethods_AreNotDuplicates()
    {
        var c = ConfigText.Valid(ConfigText.WithRoutes("""
            read:
              methods: [GET, HEAD]
              path: /users/{id}
              service: users
            write:
              methods: [PUT, DELETE]
              path: /users/{id}
              service: users
            """));

        Assert.Equal(2, c.Routes.Count);
    }

    [Fact]
    public void Routes_SameShapeDifferentHosts_AreNotDuplicates()
    {
        var c = ConfigText.Valid(ConfigText.WithRoutes("""
            a:
              path: /users/{id}
              host: api.example.com
              service: users
            b:
              path: /users/{id}
              host: admin.example.com
              service: users
            c:
              path: /users/{id}
              service: users
            """));

        Assert.Equal(3, c.Routes.Count);
    }

    [Fact]
    public void Routes_SameHostDifferentCase_AreDuplicates()
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            a:
              path: /users/{id}
              host: api.example.com
              service: users
            b:
              path: /users/{id}
              host: API.Example.com
              service: users
            """), "routes.b.path");

        Assert.Contains("'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Routes_LiteralAndParameter_AreNotDuplicates()
    {
        var c = ConfigText.Valid(ConfigText.WithRoutes("""
            me:
              path: /users/me
              service: users
            byId:
              path: /users/{id}
              service: users
            """));

        Assert.Equal(2, c.Routes.Count);
    }

    [Fact]
    public void Routes_ThreeWithTheSameShape_EachLaterOneIsReportedOnce()
    {
        var result = ConfigText.Load(ConfigText.WithRoutes("""
            a:
              path: /x
              service: users
            b:
              path: /x
              service: users
            c:
              path: /X
              service: users
            """));

        Assert.Equal(["routes.b.path", "routes.c.path"], result.Errors.Select(e => e.Path));
    }

    [Fact]
    public void Route_UnknownMethod_IsReportedWithoutADuplicateRouteError()
    {
        // A method that is not an HTTP method must not turn the route into an every-method route
        // that then "collides" with its neighbours.
        var result = ConfigText.Load(ConfigText.WithRoutes("""
            read:
              methods: [GET]
              path: /users/{id}
              service: users
            write:
              methods: [PUTT]
              path: /users/{id}
              service: users
            """));

        var error = Assert.Single(result.Errors);
        Assert.Equal("routes.write.methods[0]", error.Path);
        Assert.Contains("'PUTT' is not an HTTP method", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Route_MethodListedTwice_IsReported()
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            a:
              methods: [GET, get]
              path: /a
              service: users
            """), "routes.a.methods[1]");

        Assert.Equal("'GET' is listed twice.", error.Message);
    }

    [Theory]
    [InlineData("https://api.example.com")]
    [InlineData("api.example.com:443")]
    [InlineData("api.example.com/v1")]
    [InlineData("*")]
    public void Route_BadHost_IsReported(string host)
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes($"""
            a:
              path: /a
              host: "{host}"
              service: users
            """), "routes.a.host");

        Assert.Contains("'*.example.com'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("users/{id}", "must start with '/'")]
    [InlineData("/users//{id}", "empty segment")]
    [InlineData("/users/{id", "does not close it")]
    [InlineData("/files/{**rest}/meta", "must be the last segment")]
    [InlineData("/users/{id}/friends/{ID}", "appears twice")]
    [InlineData("/users/../admin", "dot segments")]
    [InlineData("/users/%2e", "'%'")]
    public void Route_BadPathTemplate_IsReportedAtItsPath(string template, string expected)
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes($"""
            a:
              path: "{template}"
              service: users
            """), "routes.a.path");

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UpstreamPath_UnknownParameter_NamesTheRoutesPath()
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            a:
              path: /users/{id}
              upstreamPath: /v2/users/{userId}
              service: users
            """), "routes.a.upstreamPath");

        Assert.Equal("parameter 'userId' is not in the route's path '/users/{id}'; use one of its parameters.", error.Message);
    }

    [Fact]
    public void UpstreamPath_SingleSegmentForACatchAll_SaysToWriteTheCatchAll()
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            a:
              path: /files/{**rest}
              upstreamPath: /storage/{rest}
              service: users
            """), "routes.a.upstreamPath");

        Assert.Contains("write it as '{**rest}' here too", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UpstreamPath_CatchAllForASingleSegment_SaysToWriteTheParameter()
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            a:
              path: /users/{id}
              upstreamPath: /v2/{**id}
              service: users
            """), "routes.a.upstreamPath");

        Assert.Contains("write it as '{id}' here", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UpstreamPath_BadTemplate_IsReportedAtUpstreamPath()
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            a:
              path: /users/{id}
              upstreamPath: v2/users/{id}
              service: users
            """), "routes.a.upstreamPath");

        Assert.Contains("must start with '/'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UpstreamPath_ParametersReorderedOrDropped_IsAccepted()
    {
        var c = ConfigText.Valid(ConfigText.WithRoutes("""
            a:
              path: /users/{id}/orders/{orderId}/{**rest}
              upstreamPath: /orders/{orderId}/by-user/{id}
              service: orders
            """));

        Assert.Equal("/orders/{orderId}/by-user/{id}", c.Routes["a"].UpstreamPath);
    }

    /// <summary>Routes of one path may differ in their match conditions only; the same conditions, however written, collide.</summary>
    [Fact]
    public void Routes_SameShape_DifferentMatchConditions_AreValid_TheSameConditionsCollide()
    {
        var valid = ConfigText.Load(ConfigText.WithRoutes("""
            v2:
              path: /users/{id}
              service: users
              match: { headers: { X-Api-Version: "2" } }
            beta:
              path: /users/{id}
              service: users
              match: { query: { beta: "true" } }
            v1:
              path: /users/{id}
              service: orders
            """));
        Assert.True(valid.IsValid, string.Join("; ", valid.Errors));

        var error = ConfigText.SingleError(ConfigText.WithRoutes("""
            a:
              path: /users/{id}
              service: users
              match: { headers: { X-Api-Version: "2" } }
            b:
              path: /users/{key}
              service: orders
              match: { headers: { x-api-version: "2" } }
            """), "routes.b.path");
        Assert.Contains("route 'b' matches the same requests as route 'a'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("match: {}", "routes.a.match", "'match' lists no condition")]
    [InlineData("match: { headers: { \"X Bad\": \"1\" } }", "routes.a.match.headers.X Bad", "must be 1-100 letters")]
    [InlineData("match: { headers: { X-Version: \"\" } }", "routes.a.match.headers.X-Version", "non-empty printable ASCII")]
    [InlineData("match: { query: { beta: \"\" } }", "routes.a.match.query.beta", "non-empty name and value")]
    public void MatchConditions_ThatCannotMatch_AreErrorsAtTheirPath(string match, string path, string says)
    {
        var error = ConfigText.SingleError(ConfigText.WithRoutes($$"""
            a:
              path: /users/{id}
              service: users
              {{match}}
            """), path);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
    }
}
