using System.Text.Json.Nodes;
using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// One request value a composition reads (<c>compositions.ID.inputs.NAME</c>), bound to a JSON Schema: a request whose
/// value does not fit is refused with 400 <c>invalid-request</c>, listing each error with its JSON pointer, before any
/// step runs. The value's text is read as the schema's <c>type</c> (<c>"42"</c> is the integer 42 for an integer).
/// </summary>
public sealed record CompositionInputConfig
{
    /// <summary>Where the value is: a path parameter of the composition's path, a query parameter, or a request header.</summary>
    public CompositionInputPlace In { get; init; } = CompositionInputPlace.Query;

    /// <summary>Whether a request must carry it (a path parameter always does).</summary>
    public bool Required { get; init; }

    /// <summary>The JSON Schema (2020-12) the value must fit; none checks only that a required value is there.</summary>
    [DocType("JSON Schema")]
    [DefaultText("none")]
    public JsonNode? Schema { get; init; }
}

/// <summary>Where a composition input is read from.</summary>
public enum CompositionInputPlace
{
    /// <summary>A query parameter (its first value is checked when it is repeated, as <c>@request.query.NAME</c> reads it).</summary>
    Query,
    /// <summary>A parameter of the composition's path.</summary>
    Path,
    /// <summary>A request header.</summary>
    Header,
}
