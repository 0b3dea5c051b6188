using System.CommandLine;
using System.Net.Sockets;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Text;
using Gatehouse.Model.Validation;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse validate FILE</c>: prints every error of a config file; exits 1 when there is one.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "The config file (YAML or JSON)." };
        var checkTargets = new Option<bool>("--check-targets") { Description = "Also connect to every target and report those that cannot be reached." };
        var command = new Command("validate", "Check a config file and list every error with its path.") { file, checkTargets };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!.FullName;
            // Service credentials live on the gateway nodes, not where files are checked (a laptop, CI): named, not read.
            var result = ConfigLoader.LoadFile(path, readSecrets: false);
            var errors = result.Errors.ToList();
            if (result.IsValid && parse.GetValue(checkTargets))
            {
                errors.AddRange(await CheckTargetsAsync(result.Config!, ct).ConfigureAwait(false));
            }

            if (errors.Count == 0)
            {
                var config = result.Config!;
                Console.Out.WriteLine($"{path} is valid: {Summary(config)}.");
                foreach (var (name, service) in config.Services)
                {
                    if (service.Credential is { } credential && string.IsNullOrEmpty(Environment.GetEnvironmentVariable(credential.Env)))
                    {
                        Console.Out.WriteLine($"note: services.{name}.credential.env: {credential.Env} is not set here; every gateway node that loads this config must set it.");
                    }
                }

                return 0;
            }

            ConfigErrorOutput.Print(path, errors);
            return 1;
        });
        return command;
    }

    /// <summary>What was checked, counted: "2 services (7 operations), 9 routes, 1 composition, 3 plans, 1 account, 3 applications".</summary>
    internal static string Summary(GatehouseConfig config)
    {
        var operations = config.Services.Values.Sum(s => s.Operations.Count);
        var parts = new List<string>
        {
            $"{Plural.Count(config.Services.Count, "service")} ({Plural.Count(operations, "operation")})",
            Plural.Count(config.Routes.Count, "route"),
        };
        foreach (var (count, noun) in new[] { (config.Compositions.Count, "composition"), (config.Plans.Count, "plan"), (config.Accounts.Count, "account"), (config.Applications.Count, "application") })
        {
            if (count > 0)
            {
                parts.Add(Plural.Count(count, noun));
            }
        }

        return string.Join(", ", parts);
    }

    /// <summary>Opens a TCP connection to every target (2s each, in parallel); reports those that fail.</summary>
    internal static async Task<IReadOnlyList<ConfigError>> CheckTargetsAsync(GatehouseConfig config, CancellationToken ct)
    {
        var checks = new List<Task<ConfigError?>>();
        foreach (var (name, service) in config.Services)
        {
            for (var i = 0; i < service.Targets.Count; i++)
            {
                var path = $"services.{name}.targets[{i}].url";
                var uri = new Uri(service.Targets[i].Url);
                checks.Add(ProbeAsync(path, uri, ct));
            }
        }

        var results = await Task.WhenAll(checks).ConfigureAwait(false);
        return [.. results.OfType<ConfigError>()];
    }

    private static async Task<ConfigError?> ProbeAsync(string path, Uri uri, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(uri.DnsSafeHost, uri.Port, timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            var reason = e is OperationCanceledException ? "no answer within 2s" : e.Message;
            return new ConfigError(path, $"cannot connect to {uri.DnsSafeHost}:{uri.Port} ({reason}); start the service or fix the address.");
        }
    }
}
