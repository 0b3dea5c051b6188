using System.CommandLine;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Model.Loading;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse run --config FILE</c>: serves the file's config and applies every valid change to it.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config", "-c") { Description = "The config file (YAML or JSON); it is watched for changes.", Required = true };
        var port = new Option<int?>("--port", "-p") { Description = "Port of the first listener (default 8080)." };
        var command = new Command("run", "Run the gateway with a config file.") { config, port };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(config)!.FullName;
            var result = ConfigLoader.LoadFile(path);
            if (!result.IsValid)
            {
                Console.Error.WriteLine($"{path}: {result.Errors.Count} error{(result.Errors.Count == 1 ? "" : "s")}; not starting.");
                foreach (var error in result.Errors)
                {
                    Console.Error.WriteLine($"  {error}");
                }

                return 2;
            }

            await using var host = await GatewayHost.StartAsync(new GatewayHostOptions
            {
                Config = result.Config!,
                ConfigPath = path,
                Port = parse.GetValue(port),
            }, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"Gatehouse is listening on {string.Join(", ", host.Urls)} (config {path}, watched for changes). Ctrl+C stops it.");
            await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return 0;
        });
        return command;
    }
}
