using System.Net;
using System.Net.Sockets;
using Gatehouse.Model.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Model.Tests.Operations;

/// <summary>Documents fetched from the service's own URL, from a real Kestrel server on a free loopback port.</summary>
public sealed class OpenApiUrlTests : IAsyncLifetime
{
    private WebApplication _server = null!;
    private string _url = null!;
    private int _fetches;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _server = builder.Build();
        _server.MapGet("/openapi.json", () => Results.Text(Specs.Users30Json, "application/json"));
        _server.MapGet("/openapi.yaml", () => Results.Text(Specs.Users31Yaml, "application/yaml"));

        // Each fetch sees a new version of the document, as after a deployment of the service.
        _server.MapGet("/changing.json", () =>
        {
            var n = Interlocked.Increment(ref _fetches);
            return Results.Text(Specs.Json31($"/v{n}", "get", $"users.version{n}"), "application/json");
        });
        await _server.StartAsync();
        _url = _server.Urls.First();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static string UsersAt(string url) => $"""
        version: 1
        services:
          users:
            targets: [http://127.0.0.1:5001]
            openapi: {"{"} url: "{url}" {"}"}
            publish: {"{"} basePath: /api {"}"}
        """;

    [Theory]
    [InlineData("/openapi.json")]
    [InlineData("/openapi.yaml")]
    public void Url_ServedByTheService_IsFetchedAndImported(string path)
    {
        var config = ConfigText.Valid(UsersAt(_url + path));

        Assert.Equal(["users.getUser", "users.deleteUsersById", "users.listUsers", "users.createUser"], config.Services["users"].Operations.Keys);
        Assert.Equal("/api/users/{id}", config.Routes["users.getUser"].Path);
    }

    [Fact]
    public void Url_EveryLoad_FetchesTheDocumentAgain()
    {
        var first = ConfigText.Valid(UsersAt(_url + "/changing.json"));
        var second = ConfigText.Valid(UsersAt(_url + "/changing.json"));

        Assert.Equal(["users.version1"], first.Services["users"].Operations.Keys);
        Assert.Equal(["users.version2"], second.Services["users"].Operations.Keys);
    }

    [Fact]
    public void Url_NothingListening_IsAClearErrorNamingPathAndUrl()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}/openapi.json";

        var error = ConfigText.SingleError(UsersAt(url), "services.users.openapi.url");

        Assert.StartsWith($"cannot fetch the OpenAPI document {url}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("refused", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("start the service, or use 'openapi.file' with a copy of the document.", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.Line);
    }

    [Fact]
    public void Url_NotFound_SaysWhatTheServiceAnswered()
    {
        var error = ConfigText.SingleError(UsersAt(_url + "/swagger.json"), "services.users.openapi.url");

        Assert.Equal($"fetching the OpenAPI document {_url}/swagger.json got 404 Not Found; check the URL.", error.Message);
    }

    [Fact]
    public void Url_NotHttp_IsAnError()
    {
        var error = ConfigText.SingleError(UsersAt("ftp://127.0.0.1/openapi.json"), "services.users.openapi.url");

        Assert.Contains("is not an http or https URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Url_FromAnEnvironmentVariable_IsSubstitutedBeforeFetching()
    {
        var config = ConfigText.Valid(UsersAt("${USERS_URL:-http://127.0.0.1:1}/openapi.json"), new Dictionary<string, string> { ["USERS_URL"] = _url });

        Assert.Equal($"{_url}/openapi.json", config.Services["users"].Openapi!.Url);
        Assert.Equal(4, config.Services["users"].Operations.Count);
    }

    /// <summary>A loopback port nothing listens on: bound by us, then released.</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
