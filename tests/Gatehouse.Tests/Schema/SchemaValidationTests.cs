using System.Diagnostics;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Schema;

/// <summary>
/// The published JSON Schema, checked by a validator that is not ours (ajv, from tests/tools, which test.sh installs):
/// every config file the project ships validates against it, and deliberately wrong files are refused by both the schema
/// and <c>gatehouse validate</c>.
/// </summary>
[Trait("Issue", "17")]
public sealed partial class SchemaValidationTests
{
    private static readonly string Root = GatehouseProcess.RepositoryRoot;
    private static readonly string Schema = Path.Combine(Root, "schema", "gatehouse.schema.json");

    [Fact]
    public async Task ShippedConfigFiles_AllValidateAgainstTheSchema()
    {
        using var folder = new TempFolder();
        var files = ShippedConfigs(folder.Path);
        Assert.Contains(files, f => f.EndsWith("examples/shop/gatehouse.yaml", StringComparison.Ordinal));
        Assert.Contains(files, f => Path.GetFileName(f) == "configuration-1.yaml"); // docs/configuration.md's example document

        var (code, output) = await AjvAsync(files);

        Assert.True(code == 0, output);
        foreach (var file in files)
        {
            Assert.Contains($"{file} valid", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task WrongFiles_AreRefusedByTheSchema_AndByValidate()
    {
        var files = Directory.GetFiles(Path.Combine(Root, "tests", "Gatehouse.Tests", "Schema", "bad"), "*.yaml").Order().ToList();
        Assert.True(files.Count >= 10);

        var (_, output) = await AjvAsync(files);

        foreach (var file in files)
        {
            Assert.Contains($"{file} invalid", output, StringComparison.Ordinal);
            var (code, _, stderr) = await GatehouseProcess.RunAsync("validate", file);
            Assert.True(code == 1, $"gatehouse validate {Path.GetFileName(file)} exited {code}: {stderr}");
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Schema_PrintedByTheCli_IsThePublishedFile()
    {
        var (code, stdout, _) = await GatehouseProcess.RunAsync("schema");

        Assert.Equal(0, code);
        Assert.Equal(await File.ReadAllTextAsync(Schema), stdout);
    }

    /// <summary>
    /// The config files the project ships: the examples, each whole document (one that starts with <c>version:</c>) in a
    /// YAML block of the docs and the README, and bench/run.sh's configs as it assembles them.
    /// </summary>
    private static List<string> ShippedConfigs(string scratch)
    {
        var files = Directory.GetFiles(Path.Combine(Root, "examples"), "*.yaml", SearchOption.AllDirectories).ToList();
        files.Add(Path.Combine(Root, "bench", "configs", "gatehouse.yaml"));

        var access = Path.Combine(scratch, "bench-access.yaml");
        File.WriteAllText(access, File.ReadAllText(Path.Combine(Root, "bench", "configs", "gatehouse.yaml")) + File.ReadAllText(Path.Combine(Root, "bench", "configs", "access.yaml")));
        files.Add(access);

        var docs = Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Append(Path.Combine(Root, "README.md"));
        foreach (var doc in docs)
        {
            var n = 0;
            foreach (Match block in YamlBlock().Matches(File.ReadAllText(doc)))
            {
                var text = block.Groups["body"].Value;
                if (text.StartsWith("version:", StringComparison.Ordinal))
                {
                    var file = Path.Combine(scratch, $"{Path.GetFileNameWithoutExtension(doc)}-{++n}.yaml");
                    File.WriteAllText(file, text);
                    files.Add(file);
                }
            }
        }

        return files;
    }

    private static async Task<(int Code, string Output)> AjvAsync(IEnumerable<string> files)
    {
        var ajv = Path.Combine(Root, "tests", "tools", "node_modules", ".bin", "ajv");
        Assert.True(File.Exists(ajv), $"{ajv} is missing: ./test.sh installs the test tools (npm ci --prefix tests/tools needs Node.js and npm).");
        var start = new ProcessStartInfo(ajv)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.Combine(Root, "tests", "tools"),
        };
        foreach (var arg in new[] { "validate", "--spec=draft2020", "--strict=true", "-c", "ajv-formats", "--errors=text", "-s", Schema })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var file in files)
        {
            start.ArgumentList.Add("-d");
            start.ArgumentList.Add(file);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"```yaml\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex YamlBlock();
}
