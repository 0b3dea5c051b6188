using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Operations;

/// <summary>'publish' turns every operation of a service into a route, checked like a written one.</summary>
public sealed class PublishTests : IDisposable
{
    private readonly OperationFixture _files = new();

    public PublishTests() => _files.Spec("users.json", Specs.Users30Json);

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Publish_UnderABasePath_GeneratesOneRoutePerOperationAfterTheWrittenOnes()
    {
        var config = _files.Valid("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                operations:
                  users.ping: { method: GET, path: / }
                publish: { basePath: /api/v1/ }
            routes:
              health: { path: /health, service: users }
            """);

        Assert.Equal(["health", "users.getUser", "users.deleteUsersById", "users.listUsers", "users.createUser", "users.ping"], config.Routes.Keys);
        var get = config.Routes["users.getUser"];
        Assert.Equal("/api/v1/users/{id}", get.Path);
        Assert.Equal(["GET"], get.Methods);
        Assert.Equal("users", get.Service);
        Assert.Equal("users.getUser", get.Operation);
        Assert.Equal("/users/{id}", get.UpstreamPath);
        Assert.Equal(["DELETE"], config.Routes["users.deleteUsersById"].Methods);
        Assert.Equal("/api/v1", config.Routes["users.ping"].Path);
        Assert.Equal("/", config.Routes["users.ping"].UpstreamPath);
        Assert.Null(config.Routes["health"].Operation);
    }

    [Fact]
    public void Publish_WithoutBasePath_PublishesTheOperationsPaths()
    {
        var config = _files.Valid("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                publish: {}
            """);

        Assert.Equal("/users/{id}", config.Routes["users.getUser"].Path);
        Assert.Equal(4, config.Routes.Count);
    }

    [Fact]
    public void Publish_RouteMatchingAWrittenRoute_IsADuplicateReportedAtThePublishBlock()
    {
        var result = _files.Load("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                publish: { basePath: / }
            routes:
              user-by-id: { methods: [GET], path: "/users/{userId}", service: users }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("services.users.publish", error.Path);
        Assert.Equal("route 'users.getUser' (published by services.users.publish) matches the same requests as route 'user-by-id' (/users/{id}); change the path, host or methods of one of them.", error.Message);
    }

    [Fact]
    public void Publish_TwoServicesWithTheSamePaths_CollideUnlessTheirBasePathsDiffer()
    {
        _files.Spec("admin.json", Specs.Json31("/users/{id}", "get", "admin.getUser"));
        const string Template = """
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                publish: {}
              admin:
                targets: [http://127.0.0.1:5002]
                openapi: { file: admin.json }
                publish: { basePath: BASE }
            """;

        var clash = Assert.Single(_files.Load(Template.Replace("BASE", "/", StringComparison.Ordinal)).Errors);
        var apart = _files.Valid(Template.Replace("BASE", "/admin", StringComparison.Ordinal));

        Assert.Equal("services.admin.publish", clash.Path);
        Assert.Contains("as route 'users.getUser'", clash.Message, StringComparison.Ordinal);
        Assert.Equal("/admin/users/{id}", apart.Routes["admin.getUser"].Path);
    }

    [Fact]
    public void Publish_OperationIdSameAsAWrittenRouteId_IsAnError()
    {
        var result = _files.Load("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                publish: { basePath: /api }
            routes:
              users.getUser: { path: "/u/{id}", service: users }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("services.users.publish", error.Path);
        Assert.Contains("a route with that id is written under 'routes'; rename that route", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("/api/{version}")]
    [InlineData("/api//v1")]
    public void Publish_BasePathThatIsNotALiteralPath_IsAnError(string basePath)
    {
        var error = ConfigText.SingleError($$"""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                operations:
                  users.ping: { method: GET, path: /ping }
                publish: { basePath: "{{basePath}}" }
            """, "services.users.publish.basePath");

        Assert.Contains("is not a base path", error.Message, StringComparison.Ordinal);
    }
}
