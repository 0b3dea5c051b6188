using System.Net;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.Policies;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>
/// Issue 23, validation of compositions' inputs: a request whose path, query or header values do not fit the schemas
/// they are bound to gets 400 problem+json listing every error with its JSON pointer, and no step runs.
/// </summary>
[Trait("Issue", "23")]
public sealed class CompositionInputTests
{
    private static string Yaml(string backend) => $$"""
        version: 1
        services:
          shop: { targets: [{{backend}}] }
        compositions:
          history:
            path: /users/{id}/history
            inputs:
              id: { in: path, schema: { type: integer, minimum: 1 } }
              limit: { in: query, required: true, schema: { type: integer, maximum: 50 } }
              X-Tenant: { in: header, schema: { type: string, maxLength: 4 } }
              filter: { in: query, schema: { type: object } }
            steps:
              orders: { service: shop, path: /orders }
        """;

    private static async Task<(HttpResponseMessage Response, JsonElement Problem)> GetAsync(TestGateway gateway, string path, params (string, string)[] headers)
    {
        var (response, body) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, path, headers);
        return (response, body.StartsWith('{') ? JsonDocument.Parse(body).RootElement.Clone() : default);
    }

    private static string[] Errors(JsonElement problem) =>
        [.. problem.GetProperty("errors").EnumerateArray().Select(e => $"{e.GetProperty("in").GetString()}:{e.GetProperty("name").GetString()}:{e.GetProperty("pointer").GetString()}")];

    [Fact]
    public async Task InputsThatDoNotFit_Get400ListingEachError_AndNoStepRuns()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var (bad, problem) = await GetAsync(gateway, "/users/0/history?limit=99", ("X-Tenant", "toolong"));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        Assert.Equal("urn:gatehouse:problem:invalid-request", problem.GetProperty("type").GetString());
        Assert.Equal(["path:id:", "query:limit:", "header:X-Tenant:"], Errors(problem));
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task MissingRequiredInput_Is400_TextThatIsNotTheType_Is400_AndFittingInputsRunTheSteps()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var (missing, missingProblem) = await GetAsync(gateway, "/users/7/history");
        var (notANumber, nanProblem) = await GetAsync(gateway, "/users/abc/history?limit=5");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("'limit' is required", missingProblem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, notANumber.StatusCode);
        Assert.Equal(["path:id:"], Errors(nanProblem));
        Assert.Equal(0, backend.Count);

        var (ok, _) = await GetAsync(gateway, "/users/7/history?limit=5", ("X-Tenant", "acme"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(1, backend.Count);
    }

    [Fact]
    public void PathInputThatIsNotAPathParameter_AndASchemaThatIsNotOne_AreConfigErrors_WithTheirPaths()
    {
        var result = Gatehouse.Model.Loading.ConfigLoader.Load("""
            version: 1
            services:
              shop: { targets: ["http://127.0.0.1:1"] }
            compositions:
              history:
                path: /users/{id}/history
                inputs:
                  userId: { in: path }
                  limit: { schema: 5 }
                steps:
                  orders: { service: shop, path: /orders }
            """, Path.GetTempPath());

        Assert.False(result.IsValid);
        var errors = result.Errors.Select(e => e.Path).ToList();
        Assert.Contains("compositions.history.inputs.userId.in", errors);
        Assert.Contains("compositions.history.inputs.limit.schema", errors);
        Assert.Contains(result.Errors, e => e.Message.Contains("'id'", StringComparison.Ordinal));
    }
}
