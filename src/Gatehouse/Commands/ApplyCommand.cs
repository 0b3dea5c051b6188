using System.CommandLine;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Validation;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse apply -f FILE [--dry-run]</c>: makes the store's configuration equal to a config file, through the
/// admin API, in one revision (<c>POST /admin/config</c>), and prints what changed. The diff comes from the server.
/// </summary>
internal static class ApplyCommand
{
    public static Command Create()
    {
        var file = new Option<FileInfo>("--file", "-f") { Description = "The config file (YAML or JSON) the configuration should become.", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would change; change nothing." };
        var admin = new AdminConnection();
        var command = new Command("apply", "Make the store's configuration equal to a config file, through the admin API, in one revision.")
        {
            file, dryRun, admin.Url, admin.Token,
        };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!.FullName;
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"{path} does not exist.").ConfigureAwait(false);
                return 2;
            }

            // Checked here as the nodes will load it, except the service credentials: only the nodes hold those.
            var loaded = ConfigLoader.LoadFile(path, readSecrets: false);
            if (!loaded.IsValid)
            {
                return PrintErrors(path, loaded.Errors);
            }

            var resources = ConfigDocument.Split(await File.ReadAllTextAsync(path, ct).ConfigureAwait(false), out var splitErrors);
            var (document, errors) = Resolve(resources, Environment.GetEnvironmentVariable);
            if (splitErrors.Count + errors.Count > 0)
            {
                return PrintErrors(path, [.. splitErrors, .. errors]);
            }

            var dry = parse.GetValue(dryRun);
            using var request = new HttpRequestMessage(HttpMethod.Post, dry ? "/admin/config?dryRun=true" : "/admin/config")
            {
                Content = new StringContent(document, Encoding.UTF8, "application/json"),
            };
            var answer = await admin.SendAsync(parse, request, ct).ConfigureAwait(false);
            if (answer is not { } a)
            {
                return 2;
            }

            if (a.Status != HttpStatusCode.OK)
            {
                AdminConnection.PrintProblem(path, a.Status, a.Body);
                return (int)a.Status >= 500 ? 2 : 1;
            }

            return PrintDiff(JsonNode.Parse(a.Body)!.AsObject(), dry);
        });
        return command;
    }

    /// <summary>
    /// The document to send: the file's resources with <c>${NAME}</c> resolved here, so the store holds the values the
    /// file meant (a <c>$</c> left in a value is written <c>$$</c>, so the server's own resolution keeps it).
    /// </summary>
    internal static (string Document, IReadOnlyList<ConfigError> Errors) Resolve(IReadOnlyList<ConfigResource> resources, Func<string, string?> environment)
    {
        var errors = new List<ConfigError>();
        var resolved = new List<ConfigResource>();
        foreach (var resource in resources)
        {
            var body = JsonNode.Parse(resource.Body);
            var section = ResourceKinds.SectionOf(resource.Kind)!;
            var path = resource.Kind == ResourceKinds.Gateway ? section : $"{section}.{resource.Name}";
            body = ResolveNode(body, path, environment, errors);
            resolved.Add(resource with { Body = body?.ToJsonString() ?? "null" });
        }

        return (ConfigDocument.Compose(resolved), errors);
    }

    private static JsonNode? ResolveNode(JsonNode? node, string path, Func<string, string?> environment, List<ConfigError> errors)
    {
        switch (node)
        {
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    copy[key] = ResolveNode(value, $"{path}.{key}", environment, errors);
                }

                return copy;
            case JsonArray array:
                var items = new JsonArray();
                for (var i = 0; i < array.Count; i++)
                {
                    items.Add(ResolveNode(array[i], $"{path}[{i}]", environment, errors));
                }

                return items;
            case JsonValue value when value.TryGetValue<string>(out var text) && text.Contains('$', StringComparison.Ordinal):
                var result = EnvironmentReferences.Resolve(text, environment, out var error);
                if (result is null)
                {
                    errors.Add(new ConfigError(path, error!));
                    return node.DeepClone();
                }

                return JsonValue.Create(EnvironmentReferences.Escape(result));
            default:
                return node?.DeepClone();
        }
    }

    private static int PrintDiff(JsonObject answer, bool dryRun)
    {
        foreach (var change in answer["changes"]?.AsArray() ?? [])
        {
            var (mark, word) = change!["change"]!.ToString() switch
            {
                "create" => ("+", "created"),
                "update" => ("~", "updated"),
                _ => ("-", "deleted"),
            };
            var kind = change["kind"]!.ToString();
            var name = change["name"]!.ToString();
            Console.Out.WriteLine($"{mark} {word}  {(kind == ResourceKinds.Gateway ? kind : kind + "/" + name)}");
        }

        Console.Out.WriteLine($"{answer["created"]} created, {answer["updated"]} updated, {answer["deleted"]} deleted");
        var revision = answer["revision"];
        if (dryRun)
        {
            Console.Out.WriteLine($"Dry run: nothing was changed (the store is at revision {revision}).");
            return 0;
        }

        if (!(bool)answer["changed"]!)
        {
            Console.Out.WriteLine($"Nothing to change (revision {revision}).");
            return 0;
        }

        Console.Out.WriteLine($"Applied as revision {revision}.");
        if (answer["applyErrors"] is JsonArray applyErrors)
        {
            Console.Error.WriteLine($"Revision {revision} is committed, but the gateway did not take it (it keeps serving the previous one):");
            foreach (var e in applyErrors)
            {
                Console.Error.WriteLine($"  {e}");
            }

            return 1;
        }

        return 0;
    }

    private static int PrintErrors(string path, IReadOnlyList<ConfigError> errors)
    {
        ConfigErrorOutput.Print(path, errors, "nothing was sent.");
        return 1;
    }
}
