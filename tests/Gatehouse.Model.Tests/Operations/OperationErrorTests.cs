using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Operations;

/// <summary>Documents that cannot be imported, and ids that clash, are config errors with a path.</summary>
public sealed class OperationErrorTests : IDisposable
{
    private readonly OperationFixture _files = new();

    public void Dispose() => _files.Dispose();

    private static string UsersWith(string openapi) => $"""
        version: 1
        services:
          users:
            targets: [http://127.0.0.1:5001]
            openapi: {openapi}
        """;

    [Fact]
    public void SameId_InTwoServices_IsAnErrorNamingBothPlaces()
    {
        _files.Spec("users.json", Specs.Users30Json);

        var result = _files.Load("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
              admin:
                targets: [http://127.0.0.1:5002]
                operations:
                  users.getUser: { method: GET, path: "/admin/users/{id}" }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("services.admin.operations.users.getUser", error.Path);
        Assert.Contains("operation id 'users.getUser' is also defined by service 'users'", error.Message, StringComparison.Ordinal);
        Assert.Contains("GET /users/{id} in", error.Message, StringComparison.Ordinal);
        Assert.Contains("imported by services.users.openapi.file", error.Message, StringComparison.Ordinal);
        Assert.Contains("operation ids are global", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SameId_ImportedByTwoServices_IsReportedAtTheSecondDocument()
    {
        _files.Spec("a.json", Specs.Json31("/a", "get", "shared.op"));
        _files.Spec("b.json", Specs.Json31("/b", "get", "shared.op"));

        var error = Assert.Single(_files.Load("""
            version: 1
            services:
              a: { targets: [http://127.0.0.1:5001], openapi: { file: a.json } }
              b: { targets: [http://127.0.0.1:5002], openapi: { file: b.json } }
            """).Errors);

        Assert.Equal("services.b.openapi.file", error.Path);
        Assert.Contains("also defined by service 'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SameId_InTwoPublishedServices_IsReportedOnceAsADuplicateId()
    {
        _files.Spec("a.json", Specs.Json31("/a", "get", "shared.op"));
        _files.Spec("b.json", Specs.Json31("/b", "get", "shared.op"));

        var result = _files.Load("""
            version: 1
            services:
              a: { targets: [http://127.0.0.1:5001], openapi: { file: a.json }, publish: {} }
              b: { targets: [http://127.0.0.1:5002], openapi: { file: b.json }, publish: {} }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Contains("operation id 'shared.op' is also defined by service 'a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SameId_TwiceInOneDocument_NamesBothOperations()
    {
        _files.Spec("a.json", """
            { "openapi": "3.0.0", "info": { "title": "t", "version": "1" }, "paths": {
              "/a": { "get": { "operationId": "x.op" } },
              "/b": { "post": { "operationId": "x.op" } } } }
            """);

        var error = ConfigText.SingleError(UsersWith("{ file: a.json }"), "services.users.openapi.file", baseDirectory: _files.Directory);

        Assert.Contains("POST /b in", error.Message, StringComparison.Ordinal);
        Assert.Contains("has the id 'x.op', and so has GET /a in", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadDocuments => new()
    {
        { """{ "swagger": "2.0", "info": { "title": "t", "version": "1" }, "paths": {} }""", "Swagger (OpenAPI 2.0)" },
        { """{ "openapi": "4.0.0", "info": { "title": "t", "version": "1" }, "paths": {} }""", "OpenAPI version '4.0.0' is not supported" },
        { """{ "info": { "title": "t" }, "paths": {} }""", "it has no 'openapi' version field" },
        { """{ "openapi": "3.1.0", "paths": { "/a": { "get": { "tags": "x" } } }""", "is not valid JSON" },
        { "openapi: 3.1.0\npaths:\n  /a: [unclosed\n", "is not valid YAML" },
        { "- just\n- a list\n", "the top level must be a mapping" },
        { """{ "openapi": "3.0.0", "paths": { "/a": { "get": { "tags": "notalist" } } } }""", "#/paths/~1a/get/tags" },
        { "", "it is empty" },
    };

    [Theory]
    [MemberData(nameof(BadDocuments))]
    public void BadDocument_IsAnErrorAtTheFileKeyNamingTheFile(string text, string reason)
    {
        var file = _files.Spec("bad.json", text);

        var error = ConfigText.SingleError(UsersWith("{ file: bad.json }"), "services.users.openapi.file", baseDirectory: _files.Directory);

        Assert.Contains($"OpenAPI document '{file}' cannot be imported", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void MissingFile_IsAnErrorNamingTheFile()
    {
        var error = ConfigText.SingleError(UsersWith("{ file: nowhere.yaml }"), "services.users.openapi.file", baseDirectory: _files.Directory);

        Assert.Contains($"cannot read OpenAPI document '{Path.Combine(_files.Directory, "nowhere.yaml")}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileAndUrl_Both_IsAnError()
    {
        _files.Spec("users.json", Specs.Users30Json);

        var error = ConfigText.SingleError(UsersWith("{ file: users.json, url: http://127.0.0.1:5001/openapi.json }"), "services.users.openapi", baseDirectory: _files.Directory);

        Assert.Equal("'openapi' has both 'file' and 'url'; keep one.", error.Message);
    }

    [Fact]
    public void FileAndUrl_Neither_IsAnError()
    {
        var error = ConfigText.SingleError(UsersWith("{}"), "services.users.openapi");

        Assert.Contains("needs 'file'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/users/{id}.json")]
    [InlineData("/users/{user-id}")]
    [InlineData("/files//{name}")]
    public void DocumentPath_ThatIsNotARouteTemplate_IsAnErrorNamingDocumentPathAndMethod(string path)
    {
        var file = _files.Spec("a.json", Specs.Json31(path, "put", "users.op"));

        var error = ConfigText.SingleError(UsersWith("{ file: a.json }"), "services.users.openapi.file", baseDirectory: _files.Directory);

        Assert.StartsWith($"PUT {path} in '{file}' cannot be imported: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DocumentOperationId_ThatIsNotAName_IsAnError()
    {
        _files.Spec("a.json", Specs.Json31("/a", "get", "Get a thing"));

        var error = ConfigText.SingleError(UsersWith("{ file: a.json }"), "services.users.openapi.file", baseDirectory: _files.Directory);

        Assert.Contains("has operationId 'Get a thing', which cannot be an id here", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RouteToAnOperationOfAnUnreadableDocument_ReportsOnlyTheDocument()
    {
        var result = _files.Load("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: missing.json }
                operations:
                  users.getUser: { tags: [x] }
            routes:
              user: { operation: users.getUser }
            """);

        Assert.Equal(["services.users.openapi.file"], result.Errors.Select(e => e.Path));
    }

    [Fact]
    public void OneOperationLeftOut_DoesNotHideMistakesAboutTheOthers()
    {
        _files.Spec("users.json", """
            { "openapi": "3.0.3", "info": { "title": "t", "version": "1" }, "paths": {
              "/users/{id}": { "get": { "operationId": "users.getUser" } },
              "/users/{user-id}/avatar": { "get": { "operationId": "users.getAvatar" } } } }
            """);

        var result = _files.Load("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
                operations:
                  users.getAvatar: { tags: [images] }
                  users.ping: { path: /ping }
            routes:
              avatar: { operation: users.getAvatar }
              user: { operation: users.getUsr }
            """);

        Assert.Equal(
            ["services.users.openapi.file", "services.users.operations.users.ping.method", "routes.user.operation"],
            result.Errors.Select(e => e.Path));
        Assert.Contains("did you mean 'users.getUser'?", result.Errors[2].Message, StringComparison.Ordinal);
    }
}
