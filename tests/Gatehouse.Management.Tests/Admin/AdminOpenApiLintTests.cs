using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>
/// /admin/openapi.json as a client generator or an API portal reads it (issue 24): it passes <c>redocly lint</c> with the
/// recommended rules (npm <c>@redocly/cli</c>, a real linter run on the document a real admin API serves), and every
/// operation has an id, its real statuses and described bodies.
/// </summary>
[Trait("Issue", "24")]
public sealed class AdminOpenApiLintTests
{
    /// <summary>The version test.sh installs too; tested on this kind of machine.</summary>
    private const string RedoclyPackage = "@redocly/cli@2.77.0";

    private static async Task<JsonObject> DocumentAsync(AdminHarness admin)
    {
        using var response = await admin.Client.GetAsync("/admin/openapi.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await AdminHarness.ReadObjectAsync(response);
    }

    [Fact]
    public async Task OpenApiDocument_PassesRedoclyLint_WithTheRecommendedRules()
    {
        await using var admin = await AdminHarness.StartAsync();
        var document = await DocumentAsync(admin);
        var file = Path.Combine(admin.BaseDirectory, "admin-openapi.json");
        await File.WriteAllTextAsync(file, document.ToJsonString());

        var redocly = await RedoclyAsync();
        var (code, output) = await RunAsync(redocly, ["lint", file, "--extends=recommended", "--format=stylish"], admin.BaseDirectory);

        Assert.True(code == 0, "redocly lint failed:\n" + output);
        // Warnings count too: the recommended rules' warnings are what a portal or a generator trips over.
        // (Its banner about the Node.js version is not a finding of the document.)
        Assert.False(System.Text.RegularExpressions.Regex.IsMatch(output, @"(?m)^\s*\d+:\d+\s+(warning|error)\b|You have \d+ warning"), "redocly lint warned:\n" + output);
    }

    [Fact]
    public async Task EveryOperation_HasAUniqueId_ItsRealStatuses_AndDescribedBodies()
    {
        await using var admin = await AdminHarness.StartAsync();
        var document = await DocumentAsync(admin);
        Assert.Equal(admin.Api.Url, (string)document["servers"]![0]!["url"]!);

        var ids = new HashSet<string>(StringComparer.Ordinal);
        var count = 0;
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject().Where(p => p.Key is "get" or "put" or "post" or "delete"))
            {
                count++;
                var at = $"{method.ToUpperInvariant()} {path}";
                Assert.True(ids.Add((string)operation!["operationId"]!), $"{at}: operationId repeated");
                var statuses = operation["responses"]!.AsObject().Select(r => r.Key).ToList();
                Assert.Contains(statuses, s => s.StartsWith('2'));
                Assert.Contains("401", statuses);
                Assert.Contains("503", statuses);
                foreach (var (status, response) in operation["responses"]!.AsObject().Where(r => r.Value!["content"] is not null))
                {
                    var schema = response!["content"]!.AsObject().Single().Value!["schema"]!;
                    // A body is a named schema, never a bare { type: object } (the documents that describe themselves,
                    // this one and the config's JSON Schema, excepted).
                    Assert.True(schema["$ref"] is not null || path is "/admin/openapi.json" or "/admin/schema.json", $"{at} {status}: an undescribed body");
                }
            }
        }

        Assert.True(count >= 45, $"only {count} operations");
        var put = document["paths"]!["/admin/routes/{name}"]!["put"]!["responses"]!.AsObject();
        Assert.Equal(["200", "201", "400", "412", "413", "422", "409", "401", "503"], put.Select(r => r.Key));
        Assert.NotNull(document["paths"]!["/admin/services/{name}/registrations"]!["delete"]!["responses"]!["204"]);
        Assert.Equal("#/components/schemas/RouteConfig", (string)document["paths"]!["/admin/routes/{name}"]!["put"]!["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!);
    }

    [Fact]
    public async Task EveryAdminEndpointTheApiMaps_IsInTheDocument_WithItsMethod()
    {
        await using var admin = await AdminHarness.StartAsync();
        var document = await DocumentAsync(admin);
        var paths = document["paths"]!.AsObject();
        var mapped = admin.Api.Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/admin/", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(method => (Method: method.ToLowerInvariant(), Path: System.Text.RegularExpressions.Regex.Replace(e.RoutePattern.RawText!, ":[a-z]+}", "}"))))
            .Where(m => m.Method is "get" or "put" or "post" or "delete" or "patch")
            .Distinct()
            .ToList();
        Assert.True(mapped.Count >= 50, $"only {mapped.Count} mapped admin endpoints found");
        var missing = mapped.Where(m => paths[m.Path]?[m.Method] is null).Select(m => $"{m.Method.ToUpperInvariant()} {m.Path}").ToList();
        Assert.True(missing.Count == 0, "not in /admin/openapi.json: " + string.Join(", ", missing));
    }

    /// <summary>The redocly executable: installed by test.sh, or here when Node.js and npm are present.</summary>
    internal static async Task<string> RedoclyAsync()
    {
        // Where the test tools may be installed together from a lock file (tests/tools), then where test.sh puts it.
        var locked = Path.Combine(RepositoryRoot(), "tests", "tools", "node_modules", ".bin", "redocly");
        if (File.Exists(locked))
        {
            return locked;
        }

        var folder = Path.Combine(RepositoryRoot(), ".artifacts", "tools", "redocly");
        var redocly = Path.Combine(folder, "node_modules", ".bin", "redocly");
        if (File.Exists(redocly))
        {
            return redocly;
        }

        if (!OnPath("npm") || !OnPath("node"))
        {
            Assert.Fail("This test runs redocly (npm @redocly/cli), which needs Node.js and npm: install them (apt-get install nodejs npm; ./test.sh does) and run it again.");
        }

        Directory.CreateDirectory(folder);
        var (code, output) = await RunAsync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", folder, RedoclyPackage], folder);
        Assert.True(code == 0 && File.Exists(redocly), $"npm could not install {RedoclyPackage}:\n{output}");
        return redocly;
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(dir => File.Exists(Path.Combine(dir, program)));

    internal static async Task<(int Code, string Output)> RunAsync(string program, string[] arguments, string directory)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = directory };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // No telemetry or update checks from the linter (the machine has no internet but the package registries).
        start.Environment["REDOCLY_TELEMETRY"] = "off";
        start.Environment["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Gatehouse.slnx not found above " + AppContext.BaseDirectory);
    }
}
