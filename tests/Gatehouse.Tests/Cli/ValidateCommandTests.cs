using Gatehouse.Model.Loading;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

public sealed class ValidateCommandTests
{
    // The demo config imports each service's operations from its /openapi.json, so validating it needs the
    // services up (here on free ports, named by the variables the file reads), like running it does.
    [Fact]
    public async Task Validate_DemoConfig_WithTheShopRunning_ExitsZero()
    {
        await using var shop = await RunningShop.StartAsync();

        var (code, stdout, stderr) = await GatehouseProcess.RunAsync(shop.Environment, "validate", "examples/shop/gatehouse.yaml");

        Assert.True(code == 0, stderr);
        Assert.Contains("is valid: 4 services (7 operations), 11 routes, 1 composition, 4 plans, 1 account, 3 applications.", stdout);
    }

    [Fact]
    public async Task Validate_DemoConfig_WithTheShopDown_NamesEveryDocumentItCannotFetch()
    {
        var down = new Dictionary<string, string>
        {
            ["SHOP_USERS_URL"] = $"http://127.0.0.1:{FreePort()}",
            ["SHOP_PRODUCTS_URL"] = $"http://127.0.0.1:{FreePort()}",
            ["SHOP_ORDERS_URL"] = $"http://127.0.0.1:{FreePort()}",
        };

        var (code, _, stderr) = await GatehouseProcess.RunAsync(down, "validate", "examples/shop/gatehouse.yaml");

        Assert.Equal(1, code);
        Assert.Contains("3 errors", stderr);
        foreach (var (service, url) in new[] { ("users", down["SHOP_USERS_URL"]), ("products", down["SHOP_PRODUCTS_URL"]), ("orders", down["SHOP_ORDERS_URL"]) })
        {
            Assert.Contains($"services.{service}.openapi.url (line ", stderr);
            Assert.Contains($"cannot fetch the OpenAPI document {url}/openapi.json", stderr);
        }
    }

    [Fact]
    public async Task DemoConfig_ContractRoutes_AreBoundToTheShopsOperations()
    {
        await using var shop = await RunningShop.StartAsync();

        var loaded = ConfigLoader.LoadFile(Path.Combine(GatehouseProcess.RepositoryRoot, "examples", "shop", "gatehouse.yaml"), shop.Lookup);

        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        var routes = loaded.Config!.Routes;
        Assert.Equal(
            [
                ("users-list", "users.listUsers", "GET", "/users", "/users"),
                ("users-get", "users.getUser", "GET", "/users/{id}", "/users/{id}"),
                ("products-list", "products.listProducts", "GET", "/products", "/products"),
                ("products-get", "products.getProduct", "GET", "/products/{id}", "/products/{id}"),
                ("orders-list", "orders.listOrders", "GET", "/orders", "/orders"),
                ("orders-get", "orders.getOrder", "GET", "/orders/{id}", "/orders/{id}"),
                ("orders-create", "orders.createOrder", "POST", "/orders", "/orders"),
            ],
            routes.Where(r => r.Value.Operation is not null).Select(r => (r.Key, r.Value.Operation!, Assert.Single(r.Value.Methods), r.Value.Path!, r.Value.UpstreamPath!)));
        Assert.Equal(shop.Environment["SHOP_ORDERS_URL"], loaded.Config.Services["orders"].Targets[0].Url);
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

    private static int FreePort() => Gatehouse.Gateway.Tests.Infrastructure.FreePorts.Tcp();
}
