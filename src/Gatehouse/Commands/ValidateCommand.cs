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
                foreach (var (name, count) in Unserved(config))
                {
                    Console.Out.WriteLine($"note: services.{name} has {Plural.Count(count, "operation")}, but no route or composition calls the service: importing operations serves nothing by itself. Add 'publish: {{ basePath: /api }}' to it, or routes such as '{{ operation: ID }}'.");
                }

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

    /// <summary>Services that have operations but that no route (written or published) or composition step calls.</summary>
    internal static IEnumerable<(string Service, int Operations)> Unserved(GatehouseConfig config)
    {
        var called = config.Routes.Values.Select(r => r.Service).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var step in config.Compositions.Values.SelectMany(c => c.Steps.Values))
        {
            if (step.Service is { } direct)
            {
                called.Add(direct);
            }
            else if (step.Operation is { } id && config.Services.FirstOrDefault(s => s.Value.Operations.ContainsKey(id)).Key is { } owner)
            {
                called.Add(owner);
            }
        }

        return config.Services.Where(s => s.Value.Operations.Count > 0 && !called.Contains(s.Key)).Select(s => (s.Key, s.Value.Operations.Count));
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
