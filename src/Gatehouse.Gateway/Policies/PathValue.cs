using System.Runtime.CompilerServices;
using Gatehouse.Gateway.Routing;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Validation;

namespace Gatehouse.Gateway.Policies;

/// <summary>
/// A path built from a template with <c>{NAME}</c> (a capture of the route's path) and <c>{@request.…}</c> placeholders,
/// each filled in percent-encoded as one path segment (a catch-all capture keeps its <c>/</c>), so a value can never add
/// a segment, a query or a character a header cannot carry: a request transform's upstream path, a fixed answer's
/// <c>Location</c>.
/// </summary>
internal sealed class PathValue
{
    private readonly Part[] _parts;

    private PathValue(Part[] parts) => _parts = parts;

    /// <summary>Compiles <paramref name="template"/> (validated at load) against the route's capture names.</summary>
    public static PathValue Compile(string template, string[] parameters)
    {
        var parts = new List<Part>();
        var at = 0;
        foreach (var placeholder in ConfigValidator.PathPlaceholders(template))
        {
            var open = template.IndexOf('{' + placeholder + '}', at, StringComparison.Ordinal);
            if (open > at)
            {
                parts.Add(new Part(PartKind.Literal, template[at..open], 0, false, null));
            }

            if (placeholder.StartsWith('@'))
            {
                parts.Add(new Part(PartKind.Reference, null, 0, false, ValueRef.TryParse(placeholder, out _)));
            }
            else
            {
                var catchAll = placeholder.StartsWith("**", StringComparison.Ordinal);
                parts.Add(new Part(PartKind.Capture, null, Array.IndexOf(parameters, placeholder.TrimStart('*')), catchAll, null));
            }

            at = open + placeholder.Length + 2;
        }

        if (at < template.Length)
        {
            parts.Add(new Part(PartKind.Literal, template[at..], 0, false, null));
        }

        return new PathValue([.. parts]);
    }

    /// <summary>Appends the filled-in path.</summary>
    public void Append(ref DefaultInterpolatedStringHandler sb, PolicyExchange exchange)
    {
        foreach (var part in _parts)
        {
            switch (part.Kind)
            {
                case PartKind.Literal:
                    sb.AppendLiteral(part.Text!);
                    break;
                case PartKind.Capture:
                    // A capture the route does not have (a service-wide template) is empty.
                    var value = part.Index >= 0 && part.Index < exchange.Captures.Count ? exchange.Path[exchange.Captures[part.Index]] : "";
                    if (part.CatchAll)
                    {
                        var first = true;
                        foreach (var segment in value.Split('/'))
                        {
                            if (!first)
                            {
                                sb.AppendLiteral("/");
                            }

                            sb.AppendLiteral(UpstreamPathTemplate.EncodeSegment(segment));
                            first = false;
                        }
                    }
                    else
                    {
                        sb.AppendLiteral(UpstreamPathTemplate.EncodeSegment(value));
                    }

                    break;
                default:
                    sb.AppendLiteral(UpstreamPathTemplate.EncodeSegment(RequestValues.Resolve(part.Reference!, exchange) ?? ""));
                    break;
            }
        }
    }

    private enum PartKind
    {
        Literal,
        Capture,
        Reference,
    }

    private sealed record Part(PartKind Kind, string? Text, int Index, bool CatchAll, ValueRef? Reference);
}
