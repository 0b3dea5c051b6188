using System.CommandLine;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Operations;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse import-openapi SPEC --service NAME --target URL</c>: turns an OpenAPI document into a config
/// document to edit, with the operations declared explicitly and published.
/// </summary>
internal static class ImportOpenApiCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "The OpenAPI 3.0 or 3.1 document (JSON or YAML): a file, or an http(s) URL." };
        var service = new Option<string>("--service", "-s") { Description = "Name of the service in the generated config, e.g. users.", Required = true };
        var target = new Option<string>("--target", "-t") { Description = "Where the service runs, e.g. http://127.0.0.1:5101.", Required = true };
        var basePath = new Option<string>("--base-path") { Description = "Public path prefix of the published routes.", DefaultValueFactory = _ => "/" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "File to write (default: standard output)." };
        var command = new Command("import-openapi", "Write a config document with a service and the operations of its OpenAPI document.") { spec, service, target, basePath, output };
        command.SetAction(async (parse, ct) =>
        {
            var source = parse.GetValue(spec)!;
            var name = parse.GetValue(service)!;
            if (!OperationIds.IsValid(name))
            {
                Console.Error.WriteLine($"--service '{name}' is not a service name; use 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit.");
                return 1;
            }

            var (document, error) = OpenApiSources.IsUrl(source)
                ? await OpenApiSources.FetchAsync(source, ct).ConfigureAwait(false)
                : (OpenApiSources.ReadFile(Path.GetFullPath(source), out var fileError), fileError);
            if (document is null)
            {
                Console.Error.WriteLine(error);
                return 1;
            }

            var results = OperationImport.Convert(name, document, OpenApiSources.IsUrl(source) ? source : $"'{source}'");
            var yaml = ImportedConfigWriter.Write(source, document, results, name, parse.GetValue(target)!, parse.GetValue(basePath)!);

            // What is written must be a config 'gatehouse validate' accepts as it is; check it the same way.
            var file = parse.GetValue(output);
            var directory = file?.DirectoryName ?? Directory.GetCurrentDirectory();
            var check = ConfigLoader.Load(yaml, directory, _ => null);
            if (!check.IsValid)
            {
                ConfigErrorOutput.Print("The generated config", check.Errors, "it would not be valid.");
                return 1;
            }

            if (file is null)
            {
                await Console.Out.WriteAsync(yaml).ConfigureAwait(false);
            }
            else
            {
                await File.WriteAllTextAsync(file.FullName, yaml, ct).ConfigureAwait(false);
            }

            var imported = results.Count(r => r.Operation is not null);
            Console.Error.WriteLine($"{(file is null ? "Wrote" : $"Wrote {file.FullName}:")} service '{name}' with {imported} operation{(imported == 1 ? "" : "s")} from {source}.");
            foreach (var left in results.Where(r => r.Operation is null))
            {
                Console.Error.WriteLine($"  left out: {left.Problem}");
            }

            return 0;
        });
        return command;
    }
}
