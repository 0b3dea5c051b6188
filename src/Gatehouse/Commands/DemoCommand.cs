using System.CommandLine;
using Gatehouse.Examples.Shop;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Access;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse demo</c>: the demo shop's three services and the gateway in front of them, in one process, with the
/// configuration in an embedded store (a fresh SQLite file unless <c>--store</c> names one) that the admin API changes.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var port = new Option<int?>("--port", "-p") { Description = "Gateway port (default 8080; 0 picks a free one)." };
        var autoPorts = new Option<bool>("--any-service-ports") { Description = "Start the shop's services, the service API (and the admin API, unless --admin-url says) on free ports: for when 5101-5103 or 8081-8082 are taken. The demo prints the addresses." };
        var adminUrl = new Option<string?>("--admin-url") { Description = $"Where the admin API listens (default {AdminApiOptions.DefaultUrl})." };
        var storeOption = new Option<string?>("--store", "-s")
        {
            Description = "Keep the demo's configuration in this store (a SQLite file, sqlite:PATH, or a PostgreSQL URL); by default a fresh SQLite file that is deleted on exit.",
        };
        var portalOptions = PortalOptionSet.Create();
        var command = new Command("demo", "Run the demo shop (users, products, orders) behind Gatehouse, with the admin API and the developer portal.") { port, autoPorts, adminUrl, storeOption };
        portalOptions.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var configPath = FindDemoConfig() ?? ExtractDemoConfig();
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
                apps.Add(await ShopServices.StartModelsAsync(ServiceUrl(any, ShopServices.ModelsPort), ct).ConfigureAwait(false));
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"Cannot start the shop's services: {e.Message.TrimEnd('.')}. Is another demo running? Ports {ShopServices.UsersPort}-{ShopServices.ModelsPort} must be free.");
                await StopAllAsync(apps).ConfigureAwait(false);
                return 2;
            }

            await WarmDocumentsAsync(apps, ct).ConfigureAwait(false);

            // The file reads the services' addresses from these variables (defaulting to the fixed ports); give it the
            // addresses actually bound, for the first load and every reload, so --any-service-ports can be watched too.
            var serviceUrls = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["SHOP_USERS_URL"] = apps[0].Urls.First(),
                ["SHOP_PRODUCTS_URL"] = apps[1].Urls.First(),
                ["SHOP_ORDERS_URL"] = apps[2].Urls.First(),
                ["SHOP_MODELS_URL"] = apps[3].Urls.First(),
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

            // Loading blocks its thread until the documents are fetched, and after the awaits above this may be a socket
            // event-loop thread (inline completions, Program.cs) that those very fetches need: load on the thread pool. (Run
            // inline, after the fetches above, the loader's own fetches had no answer within their 10 s.)
            var loaded = await Task.Run(() => ConfigLoader.LoadFile(configPath, Lookup), ct).ConfigureAwait(false);
            if (!loaded.IsValid)
            {
                ConfigErrorOutput.Print(configPath, loaded.Errors, "not valid.");
                await StopAllAsync(apps).ConfigureAwait(false);
                return 2;
            }

            // The store holds the file with its ${...} references resolved by this process (the services' addresses,
            // the demo keys' hashes), as 'gatehouse apply' stores a file: what 'gatehouse export' writes then applies
            // again from any shell.
            var (document, resolveErrors) = ApplyCommand.Resolve(ConfigDocument.Split(await File.ReadAllTextAsync(configPath, ct).ConfigureAwait(false), out _), Lookup);
            var temporary = parse.GetValue(storeOption) is null ? Directory.CreateTempSubdirectory("gatehouse-demo-") : null;
            var connection = parse.GetValue(storeOption) ?? "sqlite:" + Path.Combine(temporary!.FullName, "gatehouse.db");
            try
            {
                await using var store = await ConfigStores.OpenAsync(connection, TimeProvider.System, ct).ConfigureAwait(false);
                var fresh = await store.CurrentRevisionAsync(ct).ConfigureAwait(false) == 0;
                if (fresh)
                {
                    var (_, errors) = await StoreConfig.ImportAsync(store, document, Path.GetDirectoryName(configPath)!, Lookup, "gatehouse demo", "import examples/shop/gatehouse.yaml", ct).ConfigureAwait(false);
                    if (resolveErrors.Count + errors.Count > 0)
                    {
                        ConfigErrorOutput.Print(configPath, [.. resolveErrors, .. errors], "cannot be stored.");
                        return 2;
                    }
                }

                var portal = portalOptions.Read(parse, any ? "http://127.0.0.1:0" : PortalOptions.DefaultUrl);
                var mail = portal.Mail.Directory is null && portal.Mail.Smtp is null ? portal.Mail with { Directory = Path.Combine(temporary?.FullName ?? Path.GetTempPath(), "gatehouse-demo-mail") } : portal.Mail;
                var (node, refusal) = await StoreNode.StartAsync(new StoreNode.Options(
                    store,
                    Path.GetDirectoryName(configPath)!,
                    Lookup,
                    parse.GetValue(port),
                    parse.GetValue(adminUrl) ?? (any ? "http://127.0.0.1:0" : AdminApiOptions.DefaultUrl),
                    "demo",
                    16 * 1024 * 1024,
                    portal.Url,
                    portal.GatewayUrl,
                    mail), ct).ConfigureAwait(false);
                if (refusal is not null)
                {
                    ConfigErrorOutput.Print($"revision {refusal.Revision} of {connection}", refusal.Errors, "cannot be served.");
                    return 2;
                }

                var started = node!;
                await using (started.ConfigureAwait(false))
                {
                    // A demo consumer to sign in to the portal with; its password is shown once, kept only as a hash.
                    (string Email, string Password)? login = null;
                    if (fresh && started.PortalUrl is not null)
                    {
                        var password = ApiKeyHash.NewKey("demo-");
                        if (await started.Admin.ConsumerService.SignUpAsync(DemoConsumer, "Demo developer", password, ct).ConfigureAwait(false) is null)
                        {
                            login = (DemoConsumer, password);
                        }
                    }

                    PrintTour(started, connection, temporary is not null, fresh ? keys : null, fresh ? serviceToken : null, serviceUrls);
                    PrintPortal(started, login, mail);
                    Console.Out.WriteLine();
                    Console.Out.WriteLine("Ctrl+C stops everything.");
                    await started.Host.WaitForShutdownAsync(ct).ConfigureAwait(false);
                }
            }
            catch (ConfigStoreException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
            catch (IOException e)
            {
                Console.Error.WriteLine(StoreNode.CannotListen(e));
                return 2;
            }
            finally
            {
                await StopAllAsync(apps).ConfigureAwait(false);
                temporary?.Delete(recursive: true);
            }

            return 0;
        });
        return command;
    }

    private const string DemoConsumer = "developer@demo.example";

    private static void PrintPortal(StoreNode node, (string Email, string Password)? login, WebSettings mail)
    {
        if (node.PortalUrl is null)
        {
            return;
        }

        Console.Out.WriteLine($"demo portal: {node.PortalUrl}");
        if (login is { } l)
        {
            Console.Out.WriteLine($"demo portal login: {l.Email} {l.Password}");
        }

        Console.Out.WriteLine(mail.Smtp is { } smtp
            ? $"demo portal mail: through {smtp}"
            : $"demo portal mail: {mail.Directory}   (password-reset mails land here as .eml files)");
        Console.Out.WriteLine($"demo console: {node.AdminUrl}/console   (sign in with the admin token)");
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

    /// <summary>
    /// The copy of the demo config built into the command, written to a file of its own under the temp folder: the
    /// single-file binary (docs/deploy.md) has no examples/ beside it. Written to a new name and renamed over the last
    /// one, so demos started at once never read half a file; null when the temp folder cannot be written.
    /// </summary>
    private static string? ExtractDemoConfig()
    {
        using var embedded = typeof(DemoCommand).Assembly.GetManifestResourceStream("examples/shop/gatehouse.yaml");
        if (embedded is null)
        {
            return null;
        }

        try
        {
            // One folder per user: on a shared /tmp another user's folder would not be writable.
            var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "gatehouse-demo-config-" + Environment.UserName)).FullName;
            var file = Path.Combine(folder, "gatehouse.yaml");
            var next = file + "." + Environment.ProcessId;
            using (var output = File.Create(next))
            {
                embedded.CopyTo(output);
            }

            File.Move(next, file, overwrite: true);
            return file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // A service builds its first /openapi.json with code compiled on first use, which on a slow board (or under an
    // emulator, as the arm64 test runs it) took more than the 10 s the config's import allows each fetch: the demo then
    // stopped with "no complete answer within 10s" for its own service (a CI run under qemu). So each document is asked
    // for once here, all at once, with more patience; a failure is left for the import to report.
    private static async Task WarmDocumentsAsync(List<WebApplication> apps, CancellationToken ct)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        await Task.WhenAll(apps.Select(async app =>
        {
            try
            {
                using var response = await client.GetAsync(new Uri(new Uri(app.Urls.First()), "/openapi.json"), ct).ConfigureAwait(false);
                await response.Content.LoadIntoBufferAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // The import fetches it again and says what is wrong.
            }
        })).ConfigureAwait(false);
    }

    private static async Task StopAllAsync(List<WebApplication> apps)
    {
        foreach (var app in apps)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void PrintTour(StoreNode node, string store, bool temporary, IReadOnlyDictionary<string, string>? keys, string? serviceToken, IReadOnlyDictionary<string, string> urls)
    {
        var url = node.Host.Urls[0];
        var serviceApi = node.Host.ServiceApiUrl;
        Console.Out.WriteLine($$"""

            Gatehouse demo shop is running.
              gateway   {{url}}
              admin API {{node.AdminUrl}}   (store {{store}}{{(temporary ? ", deleted on exit" : "")}}; revision {{node.Revision}})
              services  users {{urls["SHOP_USERS_URL"]}}, products {{urls["SHOP_PRODUCTS_URL"]}}, orders {{urls["SHOP_ORDERS_URL"]}}, example model {{urls["SHOP_MODELS_URL"]}}
            """);
        if (node.GeneratedToken is not null)
        {
            Console.Out.WriteLine($"demo admin token: {node.GeneratedToken}");
        }
        else
        {
            Console.Out.WriteLine($"  (admin token: the one in {AdminToken.EnvironmentVariable}, or the one printed when this store was made)");
        }

        if (keys is null)
        {
            Console.Out.WriteLine("  (the store already held a configuration, so the demo made no new keys: use those of the run that made it)");
        }
        else
        {
            Console.Out.WriteLine("\nOne application per plan; each key is shown only now:");
            foreach (var (plan, key) in keys)
            {
                Console.Out.WriteLine($"demo key {plan}: {key}");
            }
        }

        if (serviceApi is not null && serviceToken is not null)
        {
            Console.Out.WriteLine($"demo service token: {serviceToken}");
            Console.Out.WriteLine($"  service API {serviceApi}   (authorize/report for services not behind the proxy; send the service token as a Bearer token)");
        }

        Console.Out.WriteLine($$"""

            Try (RETAIL, WHOLESALE, INTERNAL = the keys above; ADMIN = the admin token):
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
              curl {{url}}/v1/chat/completions -H "X-Api-Key: $RETAIL" -d '{"model":"demo","messages":[{"role":"user","content":"hi"}]}'
                                                                      (the AI gateway: OpenAI's format, model alias 'demo'; add "stream": true for SSE)
              {{url}}/mcp with X-Api-Key: $RETAIL                (an MCP server, Streamable HTTP: the retail plan's operations as tools)
              curl -X POST {{serviceApi}}/api/authorize -H "Authorization: Bearer $SERVICE_TOKEN" -H 'Content-Type: application/json' -d "{\"credential\":{\"apiKey\":\"$RETAIL\"},\"operation\":\"orders.createOrder\"}"
                                                                      (what a service not behind the proxy asks)
              curl {{node.AdminUrl}}/admin/revisions -H "Authorization: Bearer $ADMIN"      (the admin API: the store's revisions)
              mkdir -p ~/gatehouse-tour && GATEHOUSE_ADMIN_TOKEN=$ADMIN gatehouse export --admin-url {{node.AdminUrl}} -o ~/gatehouse-tour/shop.yaml
                                                                      (edit it, then: gatehouse apply --admin-url {{node.AdminUrl}} -f ~/gatehouse-tour/shop.yaml)
              (no gatehouse command yet? README, "The gatehouse command": dotnet pack, then dotnet tool install)
            """);
    }
}
