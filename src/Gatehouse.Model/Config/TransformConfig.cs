using System.Text.Json.Nodes;
using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Changes a request on its way to the service and the response on its way back. Values are literals or references
/// of the composition language: <c>@request.path.NAME</c> (the route's captures), <c>@request.query.NAME</c>,
/// <c>@request.headers.NAME</c>, <c>@request.application</c>, <c>@request.plan</c>, <c>@request.id</c>; <c>@@</c>
/// starts a literal <c>@</c>. Every value written passes the gateway's header and URL checks.
/// </summary>
public sealed record TransformConfig
{
    /// <summary>Whether the transforms apply; <c>false</c> switches a service's default off on one route.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Changes to the request sent upstream (below).</summary>
    public RequestTransformConfig? Request { get; init; }

    /// <summary>Changes to the response sent back (below).</summary>
    public ResponseTransformConfig? Response { get; init; }
}

/// <summary>Changes to the request sent upstream.</summary>
public sealed record RequestTransformConfig
{
    /// <summary>Headers set, added or removed. <c>Gatehouse-*</c>, <c>X-Forwarded-*</c>, hop-by-hop, <c>Host</c>, <c>Content-*</c> and credential headers cannot be touched.</summary>
    public HeaderTransformConfig? Headers { get; init; }

    /// <summary>
    /// The path sent upstream instead of <c>upstreamPath</c>: <c>{name}</c> is a capture of the route's path,
    /// <c>{@request.…}</c> a reference; each value is percent-encoded as one segment.
    /// </summary>
    [DocType("template")]
    public string? Path { get; init; }

    /// <summary>Query parameters set or removed.</summary>
    public QueryTransformConfig? Query { get; init; }
}

/// <summary>Changes to the response sent back.</summary>
[BindingRules(typeof(Loading.ResponseTransformRules))]
public sealed record ResponseTransformConfig
{
    /// <summary>Headers set, added or removed (<c>add</c>, <c>set</c>, <c>remove</c>). Hop-by-hop, <c>Content-Length</c>, <c>X-Request-Id</c>, <c>RateLimit*</c>, <c>Access-Control-*</c> and <c>Gatehouse-*</c> cannot be touched.</summary>
    public HeaderTransformConfig? Headers { get; init; }

    /// <summary>The service's status codes mapped to the ones sent, e.g. <c>{ 404: 204 }</c>.</summary>
    [FreeKeys]
    [DocType("mapping status → status")]
    public IReadOnlyDictionary<string, int> Status { get; init; } = new Dictionary<string, int>();

    /// <summary>
    /// Reshapes 2xx JSON bodies with a composition template, where <c>@response.body</c> is the service's body, e.g.
    /// <c>{ "@value": "@response.body", "@omit": [internalNotes] }</c>. Bodies are read whole (up to
    /// <c>maxBodySize</c>; a larger one is a 502, never passed on unshaped); without it bodies stream through.
    /// </summary>
    [BoundByRules("{}")]
    [DocType("template")]
    public JsonNode? Body { get; init; }

    /// <summary>Largest body <c>body</c> reshapes.</summary>
    [Size]
    public long MaxBodySize { get; init; } = 1024 * 1024;
}

/// <summary>Header changes, applied in the order remove, set, add.</summary>
public sealed record HeaderTransformConfig
{
    /// <summary>Headers replaced (or created) with a value.</summary>
    [FreeKeys]
    [DocType("mapping name → value")]
    public IReadOnlyDictionary<string, string> Set { get; init; } = new Dictionary<string, string>();

    /// <summary>Headers given one more value.</summary>
    [FreeKeys]
    [DocType("mapping name → value")]
    public IReadOnlyDictionary<string, string> Add { get; init; } = new Dictionary<string, string>();

    /// <summary>Headers removed.</summary>
    public IReadOnlyList<string> Remove { get; init; } = [];
}

/// <summary>Query parameter changes, applied in the order remove, set.</summary>
public sealed record QueryTransformConfig
{
    /// <summary>Parameters replaced (every occurrence) or created with a value, percent-encoded.</summary>
    [FreeKeys]
    [DocType("mapping name → value")]
    public IReadOnlyDictionary<string, string> Set { get; init; } = new Dictionary<string, string>();

    /// <summary>Parameters removed (every occurrence).</summary>
    public IReadOnlyList<string> Remove { get; init; } = [];
}
