using System.Globalization;
using Gatehouse.Model.Validation;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// Reads typed values out of a YAML representation tree and collects every problem with its path.
/// Written by hand rather than with YamlDotNet's deserializer because that one stops at the first
/// error and has no notion of a config path; users should see all their mistakes at once.
/// </summary>
internal sealed class YamlBinder(Func<string, string?> environment)
{
    private readonly List<ConfigError> _errors = [];

    public IReadOnlyList<ConfigError> Errors => _errors;

    public void Error(string path, YamlNode? node, string message) =>
        _errors.Add(new ConfigError(path, message, node is null ? null : (int)node.Start.Line));

    /// <summary>The node as a mapping whose keys are all in <paramref name="allowed"/>; unknown keys are reported.</summary>
    public IReadOnlyDictionary<string, YamlNode>? Mapping(YamlNode node, string path, params string[] allowed)
    {
        if (node is not YamlMappingNode map)
        {
            Error(path, node, $"expected a mapping with keys {string.Join(", ", allowed)}; found {Describe(node)}.");
            return null;
        }

        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (allowed.Length > 0 && Array.IndexOf(allowed, key) < 0)
            {
                var hint = Suggest(key, allowed);
                Error(Join(path, key), keyNode, hint is null
                    ? $"unknown key '{key}'; allowed keys here are {string.Join(", ", allowed)}."
                    : $"unknown key '{key}'; did you mean '{hint}'?");
                continue;
            }

            if (!result.TryAdd(key, value))
            {
                Error(Join(path, key), keyNode, $"key '{key}' appears twice; keep one.");
            }
        }

        return result;
    }

    /// <summary>A mapping whose keys are names chosen by the user (service names, route ids).</summary>
    public IEnumerable<(string Name, YamlNode Value, string Path)> NamedEntries(YamlNode node, string path)
    {
        if (node is not YamlMappingNode map)
        {
            Error(path, node, $"expected a mapping of names to definitions; found {Describe(node)}.");
            yield break;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (keyNode, value) in map.Children)
        {
            var name = (keyNode as YamlScalarNode)?.Value ?? "";
            var entryPath = Join(path, name);
            if (!IsValidName(name))
            {
                Error(entryPath, keyNode, $"name '{name}' must be 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit.");
                continue;
            }

            if (!seen.Add(name))
            {
                Error(entryPath, keyNode, $"'{name}' is defined twice; names must be unique.");
                continue;
            }

            yield return (name, value, entryPath);
        }
    }

    public IEnumerable<(YamlNode Item, string Path)> Sequence(YamlNode node, string path)
    {
        if (node is not YamlSequenceNode seq)
        {
            Error(path, node, $"expected a list; found {Describe(node)}.");
            yield break;
        }

        for (var i = 0; i < seq.Children.Count; i++)
        {
            yield return (seq.Children[i], $"{path}[{i}]");
        }
    }

    public string? String(YamlNode node, string path)
    {
        if (node is not YamlScalarNode scalar || scalar.Value is null)
        {
            Error(path, node, $"expected a text value; found {Describe(node)}.");
            return null;
        }

        return Substitute(scalar.Value, path, node);
    }

    public int? Int(YamlNode node, string path, int min = int.MinValue)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            Error(path, node, $"expected a whole number; found '{text}'.");
            return null;
        }

        if (value < min)
        {
            Error(path, node, $"must be at least {min}; found {value}.");
            return null;
        }

        return value;
    }

    /// <summary>A duration such as <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c> (a bare number is seconds). Must be positive.</summary>
    public TimeSpan? Duration(YamlNode node, string path)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!Units.TryParseDuration(text, out var value) || value <= TimeSpan.Zero)
        {
            Error(path, node, $"expected a positive duration such as '500ms', '30s', '5m' or '1h'; found '{text}'.");
            return null;
        }

        return value;
    }

    /// <summary>A size in bytes such as <c>1048576</c>, <c>512KB</c>, <c>10MB</c>, <c>1GB</c> (binary multiples).</summary>
    public long? Size(YamlNode node, string path)
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        if (!Units.TryParseSize(text, out var value) || value <= 0)
        {
            Error(path, node, $"expected a positive size such as '65536', '512KB' or '10MB'; found '{text}'.");
            return null;
        }

        return value;
    }

    public TEnum? Enum<TEnum>(YamlNode node, string path)
        where TEnum : struct, System.Enum
    {
        var text = String(node, path);
        if (text is null)
        {
            return null;
        }

        foreach (var value in System.Enum.GetValues<TEnum>())
        {
            if (string.Equals(Units.CamelCase(value.ToString()), text, StringComparison.Ordinal))
            {
                return value;
            }
        }

        var names = string.Join(", ", System.Enum.GetNames<TEnum>().Select(Units.CamelCase));
        Error(path, node, $"'{text}' is not one of {names}.");
        return null;
    }

    /// <summary>The boolean at <paramref name="key"/> of <paramref name="map"/> (path <paramref name="path"/>.key); null when absent or not a boolean (reported).</summary>
    public bool? Bool(IReadOnlyDictionary<string, YamlNode> map, string key, string path) =>
        map.TryGetValue(key, out var node) ? Bool(node, Join(path, key)) : null;

    public bool? Bool(YamlNode node, string path)
    {
        var text = String(node, path);
        switch (text)
        {
            case null:
                return null;
            case "true":
                return true;
            case "false":
                return false;
            default:
                Error(path, node, $"expected true or false; found '{text}'.");
                return null;
        }
    }

    /// <summary>
    /// The non-empty text value of required key <paramref name="key"/> of <paramref name="map"/>; reports a missing or
    /// empty one (saying <paramref name="what"/> it is, when given) and returns null.
    /// </summary>
    public string? Required(IReadOnlyDictionary<string, YamlNode> map, string key, string path, YamlNode parent, string? what = null)
    {
        if (!map.TryGetValue(key, out var node))
        {
            Error(Join(path, key), parent, what is null ? $"'{key}' is required here." : $"'{key}' is required: {what}.");
            return null;
        }

        var value = String(node, Join(path, key));
        if (value is { Length: 0 })
        {
            Error(Join(path, key), node, what is null ? $"'{key}' must not be empty." : $"'{key}' must not be empty: {what}.");
            return null;
        }

        return value;
    }

    /// <summary>One text value, or a list of them (<c>read</c> or <c>[read, write]</c>).</summary>
    public IReadOnlyList<string> OneOrMany(YamlNode node, string path) =>
        node is YamlScalarNode ? String(node, path) is { } one ? [one] : [] : StringList(node, path);

    public IReadOnlyList<string> StringList(YamlNode node, string path)
    {
        var list = new List<string>();
        foreach (var (item, itemPath) in Sequence(node, path))
        {
            if (String(item, itemPath) is { } value)
            {
                list.Add(value);
            }
        }

        return list;
    }

    /// <summary>Whether secrets named by the config (service credentials) are read; false where they need not be set.</summary>
    public bool ReadsSecrets { get; init; } = true;

    /// <summary>An environment variable of the loading process, for values the config names but must not hold (secrets).</summary>
    public string? Variable(string name) => environment(name);

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    /// <summary>
    /// Replaces <c>${NAME}</c> and <c>${NAME:-default}</c> with environment variables; <c>$$</c> is a literal <c>$</c>.
    /// As in the shell, the default is used when the variable is unset or empty. Done per scalar, after parsing,
    /// so a variable's value can never change the document's structure.
    /// </summary>
    private string? Substitute(string value, string path, YamlNode node)
    {
        var resolved = EnvironmentReferences.Resolve(value, environment, out var error);
        if (resolved is null)
        {
            Error(path, node, error!);
        }

        return resolved;
    }

    /// <summary>The rule for names the user chooses: service names, route ids, operation ids.</summary>
    internal static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 100 || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s when string.IsNullOrEmpty(s.Value) => "nothing",
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "an unsupported value",
    };

    internal static string? Suggest(string key, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var d = Units.EditDistance(key.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
            {
                bestDistance = d;
                best = candidate;
            }
        }

        return bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }
}
