using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

public sealed class ValidateCommandTests
{
    [Fact]
    public async Task Validate_DemoConfig_ExitsZero()
    {
        var (code, stdout, stderr) = await GatehouseProcess.RunAsync("validate", "examples/shop/gatehouse.yaml");

        Assert.True(code == 0, stderr);
        Assert.Contains("is valid: 3 services", stdout);
    }

    [Fact]
    public async Task Validate_FileWithSeveralErrors_ListsEveryErrorWithItsPathAndExitsNonZero()
    {
        var file = Path.Combine(Path.GetTempPath(), $"gatehouse-bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, """
            version: 1
            services:
              users:
                targets: [ftp://127.0.0.1:5101]
                timout: 5s
            routes:
              a: { path: "/users/{id}", service: user }
              b: { path: "/users/{name}", service: users }
            """);
        try
        {
            var (code, _, stderr) = await GatehouseProcess.RunAsync("validate", file);

            Assert.NotEqual(0, code);
            Assert.Contains("services.users.targets[0].url", stderr);
            Assert.Contains("services.users.timout", stderr);
            Assert.Contains("did you mean 'timeout'", stderr);
            Assert.Contains("routes.a.service", stderr);
            Assert.Contains("did you mean 'users'", stderr);
            Assert.Contains("routes.b.path", stderr);
            Assert.Contains("4 errors", stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Validate_UnquotedTemplateInFlowMapping_SaysToQuoteIt()
    {
        var file = Path.Combine(Path.GetTempPath(), $"gatehouse-flow-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "version: 1\nroutes:\n  a: { path: /users/{id}, service: users }\n");
        try
        {
            var (code, _, stderr) = await GatehouseProcess.RunAsync("validate", file);

            Assert.NotEqual(0, code);
            Assert.Contains("line 3", stderr);
            Assert.Contains("quote values that contain braces", stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Validate_CheckTargets_ReportsATargetNobodyListensOn()
    {
        var port = FreePort();
        var file = Path.Combine(Path.GetTempPath(), $"gatehouse-targets-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, $$"""
            version: 1
            services:
              gone: { targets: [http://127.0.0.1:{{port}}] }
            routes:
              r: { path: /x, service: gone }
            """);
        try
        {
            var (plain, _, _) = await GatehouseProcess.RunAsync("validate", file);
            var (checkedCode, _, stderr) = await GatehouseProcess.RunAsync("validate", file, "--check-targets");

            Assert.Equal(0, plain);
            Assert.NotEqual(0, checkedCode);
            Assert.Contains("services.gone.targets[0].url", stderr);
            Assert.Contains("cannot connect", stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Run_InvalidConfig_RefusesToStart()
    {
        var file = Path.Combine(Path.GetTempPath(), $"gatehouse-run-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "version: 2\n");
        try
        {
            var (code, _, stderr) = await GatehouseProcess.RunAsync("run", "--config", file);

            Assert.Equal(2, code);
            Assert.Contains("version 2 is not supported", stderr);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
