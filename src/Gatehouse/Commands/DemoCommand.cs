using System.CommandLine;
using Gatehouse.Examples.Shop;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Model.Access;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse demo</c>: the demo shop's three services and the gateway in front of them, in one process.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var port = new Option<int?>("--port", "-p") { Description = "Gateway port (default 8080; 0 picks a free one)." };
        var autoPorts = new Option<bool>("--any-service-ports") { Description = "Start the shop's services on free ports instead of 5101-5103.", Hidden = true };
        var command = new Command("demo", "Run the demo shop (users, products, orders) behind Gatehouse.") { port, autoPorts };
        command.SetAction(async (parse, ct) =>
        {
            var configPath = FindDemoConfig();
            if (configPath is null)
            {
                Console.Error.WriteLine("Cannot find examples/shop/gatehouse.yaml; run the demo from the repository (dotnet run --project src/Gatehouse -- demo).");
                return 2;
            }

            // The services start first: the config imports each one's operations from its /openapi.json.
            var any = parse.GetValue(autoPorts);
            var apps = new List<WebApplication>();
            try
            {
                apps.Add(await ShopServices.StartUsersAsync(ServiceUrl(any, ShopServices.UsersPort), ct).ConfigureAwait(false));
                apps.Add(await ShopServices.StartProductsAsync(ServiceUrl(any, ShopServices.ProductsPort), ct).ConfigureAwait(false));
                apps.Add(await ShopServices.StartOrdersAsync(ServiceUrl(any, ShopServices.OrdersPort), ct).ConfigureAwait(false));
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"Cannot start the shop's services: {e.Message}. Is another demo running? Ports {ShopServices.UsersPort}-{ShopServices.OrdersPort} must be free.");
                await StopAllAsync(apps).ConfigureAwait(false);
                return 2;
            }

            // The file reads the services' addresses from these variables (defaulting to the fixed ports); give it the
            // addresses actually bound, for the first load and every reload, so --any-service-ports can be watched too.
            var serviceUrls = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["SHOP_USERS_URL"] = apps[0].Urls.First(),
                ["SHOP_PRODUCTS_URL"] = apps[1].Urls.First(),
                ["SHOP_ORDERS_URL"] = apps[2].Urls.First(),
            };

            // One live application per plan, each with a fresh key. Only the keys' hashes go into the config (through
            // the variables it reads); the keys themselves are printed once below and kept nowhere.
            var keys = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var plan in DemoPlans)
            {
                var key = ApiKeyHash.NewKey();
                keys[plan] = key;
                serviceUrls[$"DEMO_{plan.ToUpperInvariant()}_KEY_SHA256"] = ApiKeyHash.Sha256Hex(key);
            }

            var serviceToken = ApiKeyHash.NewKey("ghs_");
            serviceUrls["DEMO_SERVICE_TOKEN_SHA256"] = ApiKeyHash.Sha256Hex(serviceToken);
            if (any)
            {
                serviceUrls["DEMO_SERVICE_API_URL"] = "http://127.0.0.1:0";
            }

            string? Lookup(string name) => serviceUrls.TryGetValue(name, out var url) ? url : Environment.GetEnvironmentVariable(name);

            var loaded = ConfigLoader.LoadFile(configPath, Lookup);
            if (!loaded.IsValid)
            {
                Console.Error.WriteLine($"{configPath} is not valid:");
                loaded.Errors.ToList().ForEach(e => Console.Error.WriteLine($"  {e}"));
                await StopAllAsync(apps).ConfigureAwait(false);
                return 2;
            }

            try
            {
                await using var gateway = await GatewayHost.StartAsync(new GatewayHostOptions
                {
                    Config = loaded.Config!,
                    ConfigPath = configPath,
                    Environment = Lookup,
                    Port = parse.GetValue(port),
                }, ct).ConfigureAwait(false);
                PrintTour(gateway.Urls[0], configPath, keys, gateway.ServiceApiUrl, serviceToken);
                await gateway.WaitForShutdownAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                await StopAllAsync(apps).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }

    /// <summary>The plans the demo makes an application (and key) for; the anonymous catalogue needs none.</summary>
    private static readonly string[] DemoPlans = ["retail", "wholesale", "internal"];

    private static string ServiceUrl(bool any, int port) => $"http://127.0.0.1:{(any ? 0 : port)}";

    /// <summary>The demo config: beside the current directory's examples/, or any parent's, or next to the binary.</summary>
    private static string? FindDemoConfig()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "examples", "shop", "gatehouse.yaml");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static async Task StopAllAsync(List<WebApplication> apps)
    {
        foreach (var app in apps)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void PrintTour(string url, string configPath, IReadOnlyDictionary<string, string> keys, string? serviceApi, string serviceToken)
    {
        Console.Out.WriteLine($$"""

            Gatehouse demo shop is running.
              gateway   {{url}}   (config {{configPath}}, watched for changes)
              services  users, products, orders

            One application per plan; each key is shown only now:
            """);
        foreach (var (plan, key) in keys)
        {
            Console.Out.WriteLine($"demo key {plan}: {key}");
        }

        if (serviceApi is not null)
        {
            Console.Out.WriteLine($"demo service token: {serviceToken}");
            Console.Out.WriteLine($"  service api {serviceApi}   (authorize/report for services not behind the proxy)");
        }

        Console.Out.WriteLine($$"""

            Try (RETAIL, WHOLESALE, INTERNAL = the keys above):
              curl {{url}}/products                                   (public catalogue: no key needed)
              curl -i {{url}}/users/1                                 (401: a key is needed)
              curl {{url}}/users/1 -H "X-Api-Key: $RETAIL"
              curl "{{url}}/orders?userId=1" -H "X-Api-Key: $RETAIL"
              curl -i -X POST {{url}}/orders -H "X-Api-Key: $RETAIL" -H 'Content-Type: application/json' -d '{"userId":1,"items":[{"productId":3,"quantity":2}]}'
                                                                      (403: retail reads only)
              curl -X POST {{url}}/orders -H "X-Api-Key: $WHOLESALE" -H 'Content-Type: application/json' -d '{"userId":1,"items":[{"productId":3,"quantity":2}]}'
              curl -i {{url}}/users/1 -H "X-Api-Key: $WHOLESALE"      (403: wholesale is orders only)
              curl -i {{url}}/nowhere                                 (404 problem+json)
              curl {{url}}/openapi/users                              (the users service's OpenAPI document)
              curl {{url}}/users/1/order-history -H "X-Api-Key: $RETAIL"   (a composition: user, orders, products in one response)
              curl -X POST {{serviceApi}}/api/authorize -H "Authorization: Bearer $SERVICE_TOKEN" -H 'Content-Type: application/json' -d "{\"credential\":{\"apiKey\":\"$RETAIL\"},\"operation\":\"orders.createOrder\"}"
                                                                      (what a service not behind the proxy asks)

            Ctrl+C stops everything.
            """);
    }
}
