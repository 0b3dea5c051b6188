using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>The outcome of loading a config document: the config when it is valid, every error otherwise.</summary>
public sealed record ConfigLoadResult(GatehouseConfig? Config, IReadOnlyList<ConfigError> Errors)
{
    /// <summary>True when the document bound and validated without a single error.</summary>
    public bool IsValid => Config is not null && Errors.Count == 0;
}

/// <summary>
/// Reads YAML or JSON config documents (JSON is read as the YAML subset it is). Loading also imports the
/// services' OpenAPI documents, so it reads those files and fetches those URLs (in parallel, each within
/// <see cref="OpenApiSources.FetchTimeout"/>): call it off any thread that must stay responsive.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Reads, binds and validates the file at <paramref name="path"/>.</summary>
    /// <param name="path">The config file.</param>
    /// <param name="environment">Looks up environment variables; the process's own when null.</param>
    /// <param name="readSecrets">
    /// False for tools that check a file away from the gateway nodes (<c>validate</c>, <c>apply</c>): the variables that
    /// hold service credentials are then not read, and may be unset. Their names are still checked.
    /// </param>
    public static ConfigLoadResult LoadFile(string path, Func<string, string?>? environment = null, bool readSecrets = true)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ConfigLoadResult(null, [new ConfigError("", $"cannot read '{path}': {e.Message}")]);
        }

        var dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        return Load(text, dir, environment, readSecrets);
    }

    /// <summary>Reads, binds and validates <paramref name="text"/>; relative file names resolve against <paramref name="baseDirectory"/>.</summary>
    /// <param name="text">The document.</param>
    /// <param name="baseDirectory">Where relative file names resolve.</param>
    /// <param name="environment">Looks up environment variables; the process's own when null.</param>
    /// <param name="readSecrets">As for <see cref="LoadFile"/>.</param>
    public static ConfigLoadResult Load(string text, string baseDirectory, Func<string, string?>? environment = null, bool readSecrets = true)
    {
        var bound = Bind(text, baseDirectory, environment, readSecrets);
        return bound.Failure is { } failure
            ? new ConfigLoadResult(null, [failure])
            : Finish(bound.Config, bound.Binder.Errors, bound.Reader.OperationSyntax, bound.Reader.BrokenServices);
    }

    /// <summary>A document bound to a config (null when its root is not a mapping), or why it could not be read at all.</summary>
    internal sealed record Bound(GatehouseConfig? Config, YamlBinder Binder, ConfigReader Reader, ConfigError? Failure);

    /// <summary>Parses and binds <paramref name="text"/>: the config as written, before operations are imported and routes generated.</summary>
    internal static Bound Bind(string text, string baseDirectory, Func<string, string?>? environment, bool readSecrets = true)
    {
        var binder = new YamlBinder(environment ?? Environment.GetEnvironmentVariable) { ReadsSecrets = readSecrets };
        var reader = new ConfigReader(binder, baseDirectory);
        var stream = new YamlStream();
        var parser = JsonYamlParser.TryCreate(text) ?? new Parser(new StringReader(text));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            return new Bound(null, binder, reader, SyntaxError(e));
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner throws this instead of a YamlException on some unclosed flow
            // collections (e.g. '[a:b' followed by more lines); the last event it parsed is the best place we have.
            var line = parser.Current is { } last ? (int)last.Start.Line : (int?)null;
            return new Bound(null, binder, reader, new ConfigError("", "the document is not valid YAML or JSON near here; look for an unclosed '[', '{' or quote.", line));
        }

        if (stream.Documents.Count != 1)
        {
            return new Bound(null, binder, reader, new ConfigError("", stream.Documents.Count == 0
                ? "the document is empty; start with 'version: 1'."
                : "the file holds several YAML documents ('---'); keep one."));
        }

        return new Bound(reader.ReadRoot(stream.Documents[0].RootNode), binder, reader, null);
    }

    /// <summary>
    /// Imports operations, generates published routes and validates a bound config; <paramref name="bindErrors"/> are
    /// the binder's errors, which come first and hide validation errors at or inside their paths.
    /// </summary>
    internal static ConfigLoadResult Finish(
        GatehouseConfig? config,
        IReadOnlyList<ConfigError> bindErrors,
        IReadOnlyDictionary<string, ServiceOperationSyntax> syntax,
        IReadOnlySet<string> brokenServices)
    {
        var errors = new List<ConfigError>(bindErrors);
        if (config is not null)
        {
            // Operations are imported and published routes generated before validation, so its checks
            // (duplicate routes, unknown references) cover generated routes like written ones.
            var expanded = OperationResolver.Resolve(config, syntax);
            config = expanded.Config;
            errors.AddRange(expanded.Errors);

            // A value that failed to bind is missing from the config, so validation can trip over the hole
            // it left: an empty target list, an https listener "without" its half-written certificate.
            // The binding error already names the cause; a second one at or around the same place misleads.
            errors.AddRange(ConfigValidator.Validate(config, brokenServices, expanded.Info)
                .Where(v => !bindErrors.Any(b => IsAtOrInside(b.Path, v.Path))));
        }

        return new ConfigLoadResult(errors.Count == 0 ? config : null, errors);
    }

    internal static bool IsAtOrInside(string path, string container) =>
        path.StartsWith(container, StringComparison.Ordinal)
        && (path.Length == container.Length || path[container.Length] is '.' or '[');

    private static ConfigError SyntaxError(YamlException e)
    {
        // The representation model rejects a repeated key before the binder sees it, so its message
        // ("Duplicate key users") is the only place the key's name is known.
        const string duplicateKey = "Duplicate key ";
        var message = e.Message.StartsWith(duplicateKey, StringComparison.Ordinal)
            ? $"key '{e.Message[duplicateKey.Length..]}' appears twice in the same mapping; keep one."
            : $"the document is not valid YAML or JSON (column {e.Start.Column}): {e.Message}"
              + (e.Message.Contains("flow mapping", StringComparison.Ordinal)
                  ? " Inside { ... }, quote values that contain braces, e.g. path: \"/users/{id}\"."
                  : "");
        return new ConfigError("", message, (int)e.Start.Line);
    }
}
