using Gatehouse.Model.Config;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Operations;

/// <summary>Operations written in the config: new ones, and overrides of imported ones by id.</summary>
public sealed class DeclaredOperationTests : IDisposable
{
    private readonly OperationFixture _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void Declared_WithoutDocument_AreTheServicesOperations()
    {
        var config = ConfigText.Valid("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                operations:
                  users.ping: { method: get, path: /ping, tags: [ops] }
                  users.reset: { method: POST, path: "/users/{id}/reset" }
                  users.search: { method: POST, path: /users/search, access: read }
            """);

        var ops = config.Services["users"].Operations;
        Assert.Equal(["users.ping", "users.reset", "users.search"], ops.Keys);
        Assert.Equal("GET", ops["users.ping"].Method);
        Assert.Equal(["ops"], ops["users.ping"].Tags);
        Assert.Equal(OperationAccess.Read, ops["users.ping"].Access);
        Assert.Equal(OperationAccess.Write, ops["users.reset"].Access);
        Assert.Empty(ops["users.reset"].Tags);
        Assert.Equal(OperationAccess.Read, ops["users.search"].Access);
    }

    [Fact]
    public void Declared_SameIdAsImported_OverridesOnlyTheFieldsItSets()
    {
        _files.Spec("users.json", Specs.Users30Json);

        var config = _files.Valid("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                operations:
                  users.getUser: { tags: [internal] }
                  users.createUser: { access: read }
                  users.deleteUsersById: { method: POST, path: "/users/{id}/delete" }
                  users.ping: { method: GET, path: /ping }
            """);

        var ops = config.Services["users"].Operations;
        Assert.Equal(["users.getUser", "users.deleteUsersById", "users.listUsers", "users.createUser", "users.ping"], ops.Keys);
        Assert.Equal(["internal"], ops["users.getUser"].Tags);
        Assert.Equal("GET", ops["users.getUser"].Method);
        Assert.Equal("/users/{id}", ops["users.getUser"].Path);
        Assert.Equal(OperationAccess.Read, ops["users.createUser"].Access);
        Assert.Equal("POST", ops["users.createUser"].Method);
        Assert.Equal("POST", ops["users.deleteUsersById"].Method);
        Assert.Equal("/users/{id}/delete", ops["users.deleteUsersById"].Path);
        Assert.Equal(OperationAccess.Write, ops["users.deleteUsersById"].Access);
        Assert.Equal(["users"], ops["users.listUsers"].Tags);
    }

    [Fact]
    public void Declared_NewIdWithoutMethod_SaysItIsRequired()
    {
        var error = ConfigText.SingleError("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                operations:
                  users.ping: { path: /ping }
            """, "services.users.operations.users.ping.method");

        Assert.Equal("'method' is required: the service has no OpenAPI document to take it from.", error.Message);
    }

    [Fact]
    public void Declared_IdTheDocumentDoesNotHave_SaysTheDocumentHasNoSuchOperation()
    {
        _files.Spec("users.json", Specs.Users30Json);

        var result = _files.Load("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                operations:
                  users.getUsr: { tags: [x] }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("services.users.operations.users.getUsr.method", error.Path);
        Assert.Contains("has no operation 'users.getUsr'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ method: FETCH, path: /ping }", "services.users.operations.users.ping.method", "'FETCH' is not an HTTP method")]
    [InlineData("{ method: GET, path: ping }", "services.users.operations.users.ping.path", "must start with '/'")]
    [InlineData("{ method: GET, path: /ping, access: readonly }", "services.users.operations.users.ping.access", "'readonly' is not one of read, write")]
    [InlineData("{ method: GET, path: /ping, colour: red }", "services.users.operations.users.ping.colour", "unknown key 'colour'")]
    public void Declared_BadField_IsReportedAtItsPath(string body, string path, string message)
    {
        var error = ConfigText.SingleError($"""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                operations:
                  users.ping: {body}
            """, path);

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Declared_SameMethodAndPathAsAnImportedOperation_SaysToOverrideByItsId()
    {
        _files.Spec("users.json", Specs.Users30Json);

        var error = Assert.Single(_files.Load("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                operations:
                  users.fetchUser: { method: GET, path: "/users/{userId}" }
            """).Errors);

        Assert.Equal("services.users.operations.users.fetchUser", error.Path);
        Assert.Contains("same method and path as operation 'users.getUser'", error.Message, StringComparison.Ordinal);
        Assert.Contains("declare it under its own id ('users.getUser')", error.Message, StringComparison.Ordinal);
    }
}
