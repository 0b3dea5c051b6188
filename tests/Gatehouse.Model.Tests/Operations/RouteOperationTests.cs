using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Operations;

/// <summary>A route written with 'operation' takes its service, method and upstream path from it.</summary>
public sealed class RouteOperationTests
{
    private static string With(string routes) => $"""
        version: 1
        services:
          users:
            targets: [http://127.0.0.1:5001]
            operations:
              users.getUser: {"{"} method: GET, path: "/users/{"{id}"}" {"}"}
              users.listUsers: {"{"} method: GET, path: /users {"}"}
        routes:
        {string.Join("\n", routes.Split('\n').Select(l => "  " + l))}
        """;

    [Fact]
    public void Route_WithOperationOnly_GetsItsServiceMethodAndPaths()
    {
        var config = ConfigText.Valid(With("user: { operation: users.getUser, timeout: 2s }"));

        var route = config.Routes["user"];
        Assert.Equal("users.getUser", route.Operation);
        Assert.Equal("users", route.Service);
        Assert.Equal(["GET"], route.Methods);
        Assert.Equal("/users/{id}", route.Path);
        Assert.Equal("/users/{id}", route.UpstreamPath);
        Assert.Equal(TimeSpan.FromSeconds(2), route.Timeout);
    }

    [Fact]
    public void Route_WithOperationAndItsOwnPath_KeepsThePathAndSendsTheOperationsPathUpstream()
    {
        var config = ConfigText.Valid(With("user: { operation: users.getUser, path: \"/people/{ID}\", host: api.example.com }"));

        var route = config.Routes["user"];
        Assert.Equal("/people/{ID}", route.Path);
        Assert.Equal("/users/{id}", route.UpstreamPath);
        Assert.Equal("api.example.com", route.Host);
    }

    [Theory]
    [InlineData("/people/{name}", "it has {name}")]
    [InlineData("/people", "it has none")]
    [InlineData("/people/{id}/{more}", "it has {id}, {more}")]
    [InlineData("/people/{**id}", "it has {**id}")]
    public void Route_WithOperationAndOtherParameters_IsAnError(string path, string detail)
    {
        var error = ConfigText.SingleError(With($"user: {{ operation: users.getUser, path: \"{path}\" }}"), "routes.user.path");

        Assert.Contains("must have the same parameters as operation 'users.getUser' ('/users/{id}': {id})", error.Message, StringComparison.Ordinal);
        Assert.EndsWith(detail + ".", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Route_ToUnknownOperation_SuggestsTheClosestId()
    {
        var error = ConfigText.SingleError(With("user: { operation: users.getUsr }"), "routes.user.operation");

        Assert.Equal("operation 'users.getUsr' is not defined; did you mean 'users.getUser'?", error.Message);
    }

    [Fact]
    public void Route_ToUnknownOperation_DoesNotAlsoCollideWithRoutesOnTheSamePath()
    {
        var error = ConfigText.SingleError(With("""
            list: { operation: users.listUsers }
            create: { operation: users.createUser, path: /users }
            """), "routes.create.operation");

        Assert.StartsWith("operation 'users.createUser' is not defined", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Route_ToUnknownOperationWithNothingClose_SaysWhereOperationsComeFrom()
    {
        var error = ConfigText.SingleError(With("user: { operation: billing.charge }"), "routes.user.operation");

        Assert.Contains("import it with a service's 'openapi', declare it under a service's 'operations'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("service: users", "routes.user.service")]
    [InlineData("methods: [GET]", "routes.user.methods")]
    [InlineData("upstreamPath: /x", "routes.user.upstreamPath")]
    public void Route_WithOperationAndWhatItDecides_IsAnError(string extra, string path)
    {
        var error = ConfigText.SingleError(With($"user: {{ operation: users.getUser, {extra} }}"), path);

        Assert.Contains("comes from operation 'users.getUser'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Routes_BoundToOperations_AreCheckedForDuplicatesLikeOthers()
    {
        var error = ConfigText.SingleError(With("""
            a: { operation: users.listUsers }
            b: { methods: [GET, POST], path: /USERS, service: users }
            """), "routes.b.path");

        Assert.Contains("route 'b' matches the same requests as route 'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Route_WithoutServiceOrOperation_SaysEitherIsRequired()
    {
        var error = ConfigText.SingleError(With("user: { path: /x }"), "routes.user.service");

        Assert.Contains("or give 'operation' instead", error.Message, StringComparison.Ordinal);
    }
}
