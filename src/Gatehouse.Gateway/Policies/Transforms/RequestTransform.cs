using System.Runtime.CompilerServices;
using System.Text;
using Gatehouse.Gateway.Forwarding;
using Gatehouse.Gateway.Routing;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;

namespace Gatehouse.Gateway.Policies.Transforms;

/// <summary>
/// A route's request transforms: the upstream path and query (built in the handler, before the target is made) and
/// the headers (applied by the forwarder once it has copied the client's). Every value written is checked like any
/// other byte the gateway sends: header values must be HTAB, SP and visible ASCII, path and query values are
/// percent-encoded.
/// </summary>
internal sealed class RequestTransform
{
    private readonly string[] _replaced;
    private readonly (string Name, PolicyValue Value)[] _set;
    private readonly (string Name, PolicyValue Value)[] _add;
    private readonly PathValue? _path;
    private readonly string[] _queryRemove;
    private readonly (string Name, PolicyValue Value)[] _querySet;

    private RequestTransform(RequestTransformConfig config, string[] parameters)
    {
        _set = [.. (config.Headers?.Set ?? new Dictionary<string, string>()).Select(p => (p.Key, PolicyValue.Compile(p.Value)))];
        _add = [.. (config.Headers?.Add ?? new Dictionary<string, string>()).Select(p => (p.Key, PolicyValue.Compile(p.Value)))];
        _replaced = [.. (config.Headers?.Remove ?? []).Concat(_set.Select(s => s.Name)).Distinct(StringComparer.OrdinalIgnoreCase)];
        _path = config.Path is { } template ? PathValue.Compile(template, parameters) : null;
        _queryRemove = [.. config.Query?.Remove ?? []];
        _querySet = [.. (config.Query?.Set ?? new Dictionary<string, string>()).Select(p => (p.Key, PolicyValue.Compile(p.Value)))];
        ChangesQuery = _queryRemove.Length > 0 || _querySet.Length > 0;
    }

    public static RequestTransform? Compile(RequestTransformConfig? config, string[] parameters) => config is null ? null : new RequestTransform(config, parameters);

    /// <summary>Whether the upstream path is rebuilt from the transform's template.</summary>
    public bool ChangesPath => _path is not null;

    public bool ChangesQuery { get; }

    /// <summary>Whether the header changes include a removal of <c>Accept-Encoding</c> the body reshaper needs.</summary>
    public bool TouchesHeaders => _replaced.Length + _add.Length > 0;

    /// <summary>
    /// True when header <paramref name="name"/> (as servers read it, <c>_</c> as <c>-</c>) is removed or set by the
    /// transform: the forwarder neither copies the client's nor adds its own, so nothing has to be taken out of the built
    /// request afterwards (three lookups in HttpClient's header store per request, on a route that sets one header and
    /// removes another).
    /// </summary>
    public bool Replaces(string name)
    {
        foreach (var replaced in _replaced)
        {
            if (string.Equals(replaced, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Appends the transformed upstream path.</summary>
    public void AppendPath(ref DefaultInterpolatedStringHandler sb, PolicyExchange exchange) => _path!.Append(ref sb, exchange);

    /// <summary>
    /// The client's query (with its '?') with the transform's removals and settings; values percent-encoded. A parameter
    /// is removed (or replaced by <c>set</c>) in every spelling a service may read as its name: any case, percent-encoded
    /// (<c>%73ecret</c>), and after a <c>;</c>, which many frameworks read as a separator like <c>&amp;</c>
    /// (<c>?keep=2;secret=1</c> goes on as <c>?keep=2</c>). Pairs not removed go on byte for byte.
    /// </summary>
    public string TransformQuery(string query, PolicyExchange exchange)
    {
        var kept = new StringBuilder();
        if (query.Length > 1)
        {
            foreach (var part in query[1..].Split('&'))
            {
                var keep = part;
                if (part.Contains(';', StringComparison.Ordinal))
                {
                    var pieces = part.Split(';');
                    var left = new List<string>(pieces.Length);
                    foreach (var piece in pieces)
                    {
                        if (!Drops(piece))
                        {
                            left.Add(piece);
                        }
                    }

                    if (left.Count < pieces.Length)
                    {
                        keep = string.Join(';', left);
                        if (keep.Length == 0)
                        {
                            continue;
                        }
                    }
                }
                else if (Drops(part))
                {
                    continue;
                }

                kept.Append(kept.Length == 0 ? "" : "&").Append(keep);
            }
        }

        foreach (var (name, value) in _querySet)
        {
            if (value.Resolve(exchange) is { } text)
            {
                kept.Append(kept.Length == 0 ? "" : "&").Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(text));
            }
        }

        return kept.Length == 0 ? "" : "?" + kept;
    }

    // Whether a name=value pair's name, decoded ('+' as a space, percent-encoding undone), is one the transform removes or
    // sets, compared without case: services bind query names case-insensitively as often as not. Also what frameworks
    // read as that name: with spaces around it (PHP drops leading ones), and with a bracketed suffix (secret[]=1 and
    // secret[a]=1 are PHP's and Rails' array and hash named secret).
    private bool Drops(string pair)
    {
        var eq = pair.IndexOf('=', StringComparison.Ordinal);
        var name = Uri.UnescapeDataString((eq < 0 ? pair : pair[..eq]).Replace('+', ' ')).Trim();
        var bracket = name.IndexOf('[', StringComparison.Ordinal);
        if (bracket > 0 && name.EndsWith(']'))
        {
            name = name[..bracket].TrimEnd();
        }

        foreach (var removed in _queryRemove)
        {
            if (string.Equals(removed, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var (set, _) in _querySet)
        {
            if (string.Equals(set, name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Applies the header changes to the request about to be sent, whose client headers were copied without those the
    /// transform replaces (<see cref="Replaces"/>); returns the name of a header whose value would be unsafe on the wire
    /// (the request is then refused, never sent), or null.
    /// </summary>
    public string? ApplyHeaders(HttpRequestMessage message, PolicyExchange exchange)
    {
        foreach (var (name, value) in _set)
        {
            if (value.Resolve(exchange) is { } text)
            {
                if (!HeaderRules.IsSafeValue(text))
                {
                    return name;
                }

                message.Headers.TryAddWithoutValidation(name, text);
            }
        }

        foreach (var (name, value) in _add)
        {
            if (value.Resolve(exchange) is { } text)
            {
                if (!HeaderRules.IsSafeValue(text))
                {
                    return name;
                }

                message.Headers.TryAddWithoutValidation(name, text);
            }
        }

        return null;
    }
}
