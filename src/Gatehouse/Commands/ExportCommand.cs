using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Model.Operations;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse export [-o FILE]</c>: the store's current configuration (<c>GET /admin/config</c>) as a YAML config file
/// that <c>gatehouse apply</c> takes back unchanged. It holds no secrets: keys are stored as hashes only, and the
/// admin token is a store setting, not part of the configuration.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write to this file (default: standard output)." };
        var admin = new AdminConnection();
        var command = new Command("export", "Write the store's current configuration as a YAML config file.") { output, admin.Url, admin.Token };
        command.SetAction(async (parse, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/config");
            var answer = await admin.SendAsync(parse, request, ct).ConfigureAwait(false);
            if (answer is not { } a)
            {
                return 2;
            }

            if (a.Status != HttpStatusCode.OK)
            {
                AdminConnection.PrintProblem("export", a.Status, a.Body);
                return 1;
            }

            var yaml = $"# Exported from {parse.GetValue(admin.Url)} at revision {a.Revision ?? "?"} by 'gatehouse export'.\n"
                + "# API keys appear as hashes only; 'gatehouse apply -f' this file to restore this configuration.\n"
                + YamlWriter.Write(JsonNode.Parse(a.Body));
            if (parse.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, yaml, ct).ConfigureAwait(false);
                await Console.Error.WriteLineAsync($"Wrote revision {a.Revision} to {file.FullName}.").ConfigureAwait(false);
            }
            else
            {
                await Console.Out.WriteAsync(yaml).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }
}
