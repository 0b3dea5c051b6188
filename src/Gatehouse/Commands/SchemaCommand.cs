using System.CommandLine;
using Gatehouse.Model.Schema;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse schema</c>: the JSON Schema of config files, for editors and other validators.</summary>
internal static class SchemaCommand
{
    public static Command Create()
    {
        var output = new Option<string?>("--output", "-o") { Description = "Write the schema to this file instead of standard output." };
        var command = new Command("schema", "Print the JSON Schema (2020-12) of config files, for editors (yaml-language-server) and other validators.") { output };
        command.SetAction(parse =>
        {
            if (parse.GetValue(output) is not { } file)
            {
                Console.Out.Write(ConfigSchema.Published);
                return 0;
            }

            try
            {
                File.WriteAllText(file, ConfigSchema.Published);
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"cannot write '{file}': {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
