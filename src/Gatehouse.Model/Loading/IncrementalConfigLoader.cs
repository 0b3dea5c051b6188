using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;

namespace Gatehouse.Model.Loading;

/// <summary>
/// One entry of a config document as JSON text: a named entry of a section (<c>services</c>, <c>routes</c>, …) or,
/// with <see cref="Section"/> and <see cref="Name"/> both <c>gateway</c>, the gateway section.
/// </summary>
public readonly record struct ConfigEntry(string Section, string Name, string Body);

/// <summary>
/// Loads a config given as entries, with the rules and errors of <see cref="ConfigLoader"/>, binding only the entries
/// whose text changed since the last load. A store with 10,000 routes and 100,000 applications changes one entry at a
/// time; parsing and binding the whole 14 MB document for each change was most of an apply (docs/benchmarks.md,
/// "Applies: zero downtime and large configs"). Binding is per entry (an entry's bound value depends only on its own text and the
/// environment), so bound entries are kept; importing operations, generating routes and validating look across
/// entries, so they run over the whole config every time. Safe to call from several threads (loads are serialized).
/// </summary>
public sealed class IncrementalConfigLoader(string baseDirectory, Func<string, string?>? environment = null)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Lock _gate = new();
    private Dictionary<(string Section, string Name), Entry> _entries = [];

    /// <summary>How many entries the last <see cref="Load"/> had to bind (the rest were unchanged); for tests and logs.</summary>
    public int LastBound { get; private set; }

    /// <summary>
    /// Loads the config made of <paramref name="entries"/> (in document order; a <c>version</c> of 1 is implied).
    /// The result equals <see cref="ConfigLoader.Load"/> of the document they make, except that errors carry no line
    /// numbers: the entries' lines in such a document are not lines anyone wrote.
    /// </summary>
    /// <exception cref="ArgumentException">An entry's section is not a section of the configuration, or its body is not JSON.</exception>
    public ConfigLoadResult Load(IReadOnlyCollection<ConfigEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        lock (_gate)
        {
            var next = new Dictionary<(string, string), Entry>(entries.Count);
            var changed = new List<ConfigEntry>();
            foreach (var entry in entries)
            {
                if (_entries.TryGetValue((entry.Section, entry.Name), out var known) && string.Equals(known.Body, entry.Body, StringComparison.Ordinal))
                {
                    next[(entry.Section, entry.Name)] = known;
                }
                else
                {
                    changed.Add(entry);
                }
            }

            LastBound = changed.Count;
            var unplaced = new List<ConfigError>();
            if (changed.Count > 0)
            {
                var bound = ConfigLoader.Bind(Document(changed), baseDirectory, environment);
                if (bound.Failure is { } failure)
                {
                    // The entries' text does not parse together (a key written twice in one body): nothing is kept.
                    return new ConfigLoadResult(null, [failure with { Line = null }]);
                }

                foreach (var (key, entry) in Split(changed, bound, unplaced))
                {
                    next[key] = entry;
                }
            }

            // Only what this load holds is kept, so entries deleted from the store do not stay in memory.
            _entries = next;
            return Assemble(entries, next, unplaced);
        }
    }

    private static ConfigLoadResult Assemble(IReadOnlyCollection<ConfigEntry> entries, Dictionary<(string, string), Entry> bound, List<ConfigError> unplaced)
    {
        var config = new GatehouseConfig();
        var services = new Dictionary<string, ServiceConfig>(StringComparer.Ordinal);
        var routes = new Dictionary<string, RouteConfig>(StringComparer.Ordinal);
        var plans = new Dictionary<string, PlanConfig>(StringComparer.Ordinal);
        var accounts = new Dictionary<string, AccountConfig>(StringComparer.Ordinal);
        var applications = new Dictionary<string, ApplicationConfig>(StringComparer.Ordinal);
        var compositions = new Dictionary<string, CompositionConfig>(StringComparer.Ordinal);
        var syntax = new Dictionary<string, ServiceOperationSyntax>(StringComparer.Ordinal);
        var broken = new HashSet<string>(StringComparer.Ordinal);
        var errors = new List<ConfigError>(unplaced);
        foreach (var item in entries)
        {
            var entry = bound[(item.Section, item.Name)];
            errors.AddRange(entry.Errors);
            switch (entry.Value)
            {
                case GatewayConfig gateway:
                    config = config with { Gateway = gateway };
                    break;
                case ServiceConfig service:
                    services[item.Name] = service;
                    break;
                case RouteConfig route:
                    routes[item.Name] = route;
                    break;
                case PlanConfig plan:
                    plans[item.Name] = plan;
                    break;
                case AccountConfig account:
                    accounts[item.Name] = account;
                    break;
                case ApplicationConfig application:
                    applications[item.Name] = application;
                    break;
                case CompositionConfig composition:
                    compositions[item.Name] = composition;
                    break;
            }

            if (entry.Syntax is { } declared)
            {
                syntax[item.Name] = declared;
            }

            if (entry.Broken)
            {
                broken.Add(item.Name);
            }
        }

        config = config with
        {
            Services = services,
            Routes = routes,
            Plans = plans,
            Accounts = accounts,
            Applications = applications,
            Compositions = compositions,
        };
        return ConfigLoader.Finish(config, errors, syntax, broken);
    }

    // The changed entries as one document, so one parse binds them all.
    private static string Document(List<ConfigEntry> changed)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("version", GatehouseConfig.CurrentVersion);
            foreach (var section in changed.GroupBy(e => e.Section, StringComparer.Ordinal))
            {
                if (!ConfigReader.Sections.Contains(section.Key, StringComparer.Ordinal) || section.Key == "version")
                {
                    throw new ArgumentException($"'{section.Key}' is not a section of the configuration.", nameof(changed));
                }

                writer.WritePropertyName(section.Key);
                if (section.Key == "gateway")
                {
                    WriteBody(writer, section.Last());
                    continue;
                }

                writer.WriteStartObject();
                foreach (var entry in section)
                {
                    writer.WritePropertyName(entry.Name);
                    WriteBody(writer, entry);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteBody(Utf8JsonWriter writer, ConfigEntry entry)
    {
        try
        {
            writer.WriteRawValue(entry.Body);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The body of {entry.Section} '{entry.Name}' is not JSON: {e.Message}", nameof(entry), e);
        }
    }

    // Each changed entry's bound value, and the binder's errors at or inside its path (the longest path that holds an
    // error wins, for names such as 'a' and 'a.b'); errors outside every entry go to unplaced.
    private static IEnumerable<KeyValuePair<(string, string), Entry>> Split(List<ConfigEntry> changed, ConfigLoader.Bound bound, List<ConfigError> unplaced)
    {
        var paths = changed.ToDictionary(e => e.Section == "gateway" ? "gateway" : $"{e.Section}.{e.Name}", e => new List<ConfigError>(), StringComparer.Ordinal);
        foreach (var error in bound.Binder.Errors)
        {
            var owner = Owner(error.Path, paths);
            (owner is null ? unplaced : owner).Add(error with { Line = null });
        }

        var config = bound.Config ?? new GatehouseConfig();
        foreach (var entry in changed)
        {
            var path = entry.Section == "gateway" ? "gateway" : $"{entry.Section}.{entry.Name}";
            object? value = entry.Section switch
            {
                "gateway" => config.Gateway,
                "services" => config.Services.GetValueOrDefault(entry.Name),
                "routes" => config.Routes.GetValueOrDefault(entry.Name),
                "plans" => config.Plans.GetValueOrDefault(entry.Name),
                "accounts" => config.Accounts.GetValueOrDefault(entry.Name),
                "applications" => config.Applications.GetValueOrDefault(entry.Name),
                "compositions" => config.Compositions.GetValueOrDefault(entry.Name),
                _ => null,
            };
            var syntax = entry.Section == "services" ? bound.Reader.OperationSyntax.GetValueOrDefault(entry.Name) : null;
            var broken = entry.Section == "services" && bound.Reader.BrokenServices.Contains(entry.Name);
            yield return new((entry.Section, entry.Name), new Entry(entry.Body, value, [.. paths[path]], syntax, broken));
        }
    }

    // The list of the longest entry path that error path is at or inside, by trying its prefixes that end before a '.'
    // or '[' (a lookup each, so many errors over many entries stay cheap).
    private static List<ConfigError>? Owner(string errorPath, Dictionary<string, List<ConfigError>> paths)
    {
        for (var end = errorPath.Length; end > 0; end--)
        {
            if ((end == errorPath.Length || errorPath[end] is '.' or '[')
                && paths.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(errorPath.AsSpan(0, end), out var list))
            {
                return list;
            }
        }

        return null;
    }

    private sealed record Entry(string Body, object? Value, ConfigError[] Errors, ServiceOperationSyntax? Syntax, bool Broken);
}
