namespace Gatehouse.Model.Loading;

/// <summary>
/// <c>${NAME}</c>, <c>${NAME:-default}</c> and <c>$$</c> in a config value, resolved with the loader's rules
/// (<c>YamlBinder</c>: the default is used when the variable is unset or empty). For tools that resolve a document
/// before handing it on, such as <c>gatehouse apply</c>.
/// </summary>
public static class EnvironmentReferences
{
    /// <summary>
    /// <paramref name="value"/> with every reference replaced, or null with <paramref name="error"/> saying why
    /// (an unclosed <c>${</c>, a bad name, an unset variable without a default).
    /// </summary>
    public static string? Resolve(string value, Func<string, string?> environment, out string? error)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(environment);
        error = null;
        if (!value.Contains('$', StringComparison.Ordinal))
        {
            return value;
        }

        var sb = new System.Text.StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c != '$' || i + 1 >= value.Length)
            {
                sb.Append(c);
                continue;
            }

            if (value[i + 1] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }

            if (value[i + 1] != '{')
            {
                sb.Append(c);
                continue;
            }

            var end = value.IndexOf('}', i + 2);
            if (end < 0)
            {
                error = "'${' is not closed; write ${NAME}, or $$ for a literal '$'.";
                return null;
            }

            var expr = value[(i + 2)..end];
            var sep = expr.IndexOf(":-", StringComparison.Ordinal);
            var name = sep < 0 ? expr : expr[..sep];
            var fallback = sep < 0 ? null : expr[(sep + 2)..];
            if (!IsVariableName(name))
            {
                error = $"'${{{expr}}}' is not a variable name; use letters, digits and '_' (not starting with a digit), or $$ for a literal '$'.";
                return null;
            }

            var resolved = environment(name);
            if (string.IsNullOrEmpty(resolved))
            {
                resolved = fallback ?? resolved;
            }

            if (resolved is null)
            {
                error = $"environment variable '{name}' is not set; set it, or give a default with ${{{name}:-value}}.";
                return null;
            }

            sb.Append(resolved);
            i = end;
        }

        return sb.ToString();
    }

    /// <summary>Letters, digits and '_', not starting with a digit: the names <c>${NAME}</c> accepts.</summary>
    public static bool IsVariableName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_');

    /// <summary>
    /// <paramref name="value"/> with every <c>$</c> doubled, so that loading it again gives <paramref name="value"/>
    /// (a resolved value must not be resolved twice).
    /// </summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Replace("$", "$$", StringComparison.Ordinal);
    }
}
