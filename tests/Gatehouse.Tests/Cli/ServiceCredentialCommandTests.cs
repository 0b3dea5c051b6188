using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// A service credential end to end (issue #4, item 6): written in a file by its variable's name, validated and applied
/// from a machine that does not hold the secret to a real <c>gatehouse run --store</c> that does, sent to the service by
/// the node, never exported.
/// </summary>
public sealed class ServiceCredentialCommandTests
{
    private const string Token = "gha_credential-test-token";
    private const string Secret = "s3cr3t-orders-token";

    private static readonly Regex Listening = new(@"listening on (http://\S+) \(store revision (\d+)\); admin API on (http://[^\s]+)\. ");

    private static string File(string env) => $$"""
        version: 1
        services:
          orders:
            targets: ["${BACKEND_URL}"]
            credential: { prefix: "Bearer ", env: {{env}} }
        routes:
          orders: { path: /orders, service: orders }
        """;

    [Fact]
    public async Task Apply_CredentialByName_FromAMachineWithoutTheSecret_TheNodeSendsIt_ExportShowsOnlyTheName_AReferenceIsRefused()
    {
        using var folder = new TempFolder();
        await using var backend = await StartEchoAuthorizationAsync();
        var environment = new Dictionary<string, string>
        {
            ["GATEHOUSE_ADMIN_TOKEN"] = Token,
            ["ORDERS_TOKEN"] = Secret,
            ["BACKEND_URL"] = backend.Urls.First(),
        };
        await using var run = GatehouseProcess.Start(environment, "run", "--store", "sqlite:" + Path.Combine(folder.Path, "gatehouse.db"), "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0");
        await run.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        var match = Listening.Match(run.StandardOutput);
        var (gateway, admin) = (match.Groups[1].Value.TrimEnd(','), match.Groups[3].Value);

        // The applying machine has no secret: only the node needs it.
        var here = new Dictionary<string, string>(environment);
        here.Remove("ORDERS_TOKEN");
        var file = folder.Write("a.yaml", File("ORDERS_TOKEN"));
        var validated = await GatehouseProcess.RunAsync(here, "validate", file);
        Assert.True(validated.ExitCode == 0, validated.Stderr);
        Assert.Contains("note: services.orders.credential.env: ORDERS_TOKEN is not set here", validated.Stdout, StringComparison.Ordinal);
        var applied = await GatehouseProcess.RunAsync(here, "apply", "-f", file, "--admin-url", admin);
        Assert.True(applied.ExitCode == 0, applied.Stderr);

        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, gateway + "/orders");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "client-made-this-up");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer " + Secret, await response.Content.ReadAsStringAsync());

        var exportPath = Path.Combine(folder.Path, "export.yaml");
        var export = await GatehouseProcess.RunAsync(here, "export", "--admin-url", admin, "-o", exportPath);
        Assert.True(export.ExitCode == 0, export.Stderr);
        var yaml = await System.IO.File.ReadAllTextAsync(exportPath);
        Assert.Contains("env: ORDERS_TOKEN", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, yaml, StringComparison.Ordinal);

        // ${ORDERS_TOKEN} would carry the secret itself into the store: refused before anything is sent, without echoing it.
        var reference = await GatehouseProcess.RunAsync(environment, "apply", "-f", folder.Write("b.yaml", File("\"${ORDERS_TOKEN}\"")), "--admin-url", admin);
        Assert.Equal(1, reference.ExitCode);
        Assert.Contains("services.orders.credential.env", reference.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, reference.Stdout + reference.Stderr, StringComparison.Ordinal);
    }

    private static async Task<WebApplication> StartEchoAuthorizationAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync(string.Join(" | ", context.Request.Headers.Authorization.ToArray())));
        await app.StartAsync();
        return app;
    }
}
