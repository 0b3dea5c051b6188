using Gatehouse.Model.Config;

namespace Gatehouse.Model.Tests.Operations;

/// <summary>A service's operations come from its OpenAPI document, whatever its version and format.</summary>
public sealed class OpenApiImportTests : IDisposable
{
    private readonly OperationFixture _files = new();

    public void Dispose() => _files.Dispose();

    public static TheoryData<string, string> Documents => new()
    {
        { "users.json", Specs.Users30Json },
        { "users.yaml", Specs.Users31Yaml },
        // The content decides the format, not the file name.
        { "specs/users-json-content.yml", Specs.Users30Json },
        // 3.0 in YAML and 3.1 in JSON, converted from the others so all four combinations are read.
        { "users30.yaml", Specs.Users31Yaml.Replace("openapi: 3.1.0", "openapi: 3.0.3", StringComparison.Ordinal) },
        { "users31.json", Specs.Users30Json.Replace("\"3.0.3\"", "\"3.1.0\"", StringComparison.Ordinal) },
    };

    [Theory]
    [MemberData(nameof(Documents))]
    public void Import_30And31_JsonAndYaml_YieldsEveryOperationWithIdTagsAndAccess(string file, string text)
    {
        _files.Spec(file, text);

        var config = _files.Valid($"""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: {"{"} file: {file} {"}"}
            """);

        var operations = config.Services["users"].Operations;
        Assert.Equal(["users.getUser", "users.deleteUsersById", "users.listUsers", "users.createUser"], operations.Keys);
        var get = operations["users.getUser"];
        Assert.Equal("GET", get.Method);
        Assert.Equal("/users/{id}", get.Path);
        Assert.Equal(["users", "public"], get.Tags);
        Assert.Equal(OperationAccess.Read, get.Access);
        Assert.Equal(OperationAccess.Write, operations["users.deleteUsersById"].Access);
        Assert.Empty(operations["users.deleteUsersById"].Tags);
        Assert.Equal(OperationAccess.Write, operations["users.createUser"].Access);
        Assert.Equal("POST", operations["users.createUser"].Method);
    }

    [Fact]
    public void Import_ServerUrlsInTheDocument_DoNotChangeTheTargetsOrPaths()
    {
        _files.Spec("users.json", Specs.Users30Json);

        var config = _files.Valid("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: users.json }
            """);

        Assert.Equal("http://127.0.0.1:5001", Assert.Single(config.Services["users"].Targets).Url);
        Assert.All(config.Services["users"].Operations.Values, o => Assert.StartsWith("/users", o.Path, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("get", OperationAccess.Read)]
    [InlineData("head", OperationAccess.Read)]
    [InlineData("options", OperationAccess.Read)]
    [InlineData("post", OperationAccess.Write)]
    [InlineData("put", OperationAccess.Write)]
    [InlineData("patch", OperationAccess.Write)]
    [InlineData("delete", OperationAccess.Write)]
    [InlineData("trace", OperationAccess.Write)]
    public void Import_Method_DecidesTheAccessClass(string method, OperationAccess expected)
    {
        _files.Spec("a.json", Specs.Json31("/things", method, "things.op"));

        var config = _files.Valid("""
            version: 1
            services:
              things:
                targets: [http://127.0.0.1:5001]
                openapi: { file: a.json }
            """);

        var operation = config.Services["things"].Operations["things.op"];
        Assert.Equal(method.ToUpperInvariant(), operation.Method);
        Assert.Equal(expected, operation.Access);
    }

    [Fact]
    public void Import_RelativeFile_IsRelativeToTheConfigFile()
    {
        var full = _files.Spec("specs/api.yaml", Specs.Yaml30("/ping", "get", "ops.ping"));

        var config = _files.Valid("""
            version: 1
            services:
              ops:
                targets: [http://127.0.0.1:5001]
                openapi: { file: specs/api.yaml }
            """);

        Assert.Equal(full, config.Services["ops"].Openapi!.File);
        Assert.Contains("ops.ping", config.Services["ops"].Operations.Keys);
    }

    [Fact]
    public void Import_OperationIdNotStartingWithTheServiceName_IsKept()
    {
        _files.Spec("a.json", Specs.Json31("/me", "get", "whoAmI"));

        var config = _files.Valid("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                openapi: { file: a.json }
            routes:
              me: { operation: whoAmI }
            """);

        Assert.Equal(["whoAmI"], config.Services["users"].Operations.Keys);
        Assert.Equal("users", config.Routes["me"].Service);
    }
}
