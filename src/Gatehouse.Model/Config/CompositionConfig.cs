using Gatehouse.Model.Schema;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Config;

/// <summary>
/// A composition (<c>compositions.ID</c>): a public route whose handler is a small graph of backend calls
/// (<see cref="Steps"/>) and a JSON template (<see cref="Response"/>) that shapes their results into one response.
/// It is an operation for plans, like any service operation. See docs/compositions.md.
/// </summary>
public sealed record CompositionConfig
{
    /// <summary>The public method.</summary>
    [DocType("HTTP method")]
    public string Method { get; init; } = "GET";

    /// <summary>The public path, in route syntax: <c>/users/{id}/order-history</c>.</summary>
    [DocType("template")]
    [DefaultText("required")]
    public required string Path { get; init; }

    /// <summary>As for routes: only requests for this host.</summary>
    [DefaultText("any host")]
    public string? Host { get; init; }

    /// <summary>The operation id plans grant and limit.</summary>
    [DocType("operation id")]
    [DefaultText("`compositions.<id>`")]
    public string? Operation { get; init; }

    /// <summary>Labels plans can grant it by.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>
    /// OAuth scopes a bearer token must carry, every one of them, to call the composition, as an operation's
    /// <c>requireScopes</c>: a token without one of them, or an API key, a Basic password or a client certificate, gets
    /// 403 <c>insufficient-scope</c>. Its steps' calls are the gateway's own and need none. Needs plans, and
    /// <c>gateway.jwt</c> issuers or <c>gateway.introspection</c>.
    /// </summary>
    [DocType("list of scopes")]
    [DefaultText("`[]` (none)")]
    public IReadOnlyList<string> RequireScopes { get; init; } = [];

    /// <summary>The backend calls by name (below); at least one.</summary>
    [DefaultText("required")]
    public IReadOnlyDictionary<string, CompositionStepConfig> Steps { get; init; } = new Dictionary<string, CompositionStepConfig>();

    /// <summary>
    /// The request values the composition reads, by name, each bound to a JSON Schema: a request that does not fit is
    /// refused with 400 <c>invalid-request</c> (every error with its JSON pointer) before any step runs.
    /// </summary>
    [DefaultText("none (nothing is checked)")]
    public IReadOnlyDictionary<string, CompositionInputConfig> Inputs { get; init; } = new Dictionary<string, CompositionInputConfig>();

    /// <summary>The response body.</summary>
    [DefaultText("each step's body under its name")]
    public JsonNode? Response { get; init; }

    /// <summary>For the whole composition; outstanding calls are cancelled when it passes.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Send <c>Server-Timing</c> with one entry per step: <c>name;dur=ms</c> for a step that ran,
    /// <c>name;desc="skipped"</c> for one cancelled before its call.
    /// </summary>
    public bool ServerTiming { get; init; }

    /// <summary>Deepest nesting accepted in a backend's JSON.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Largest backend body read (counted while reading).</summary>
    [Size]
    public long MaxBodySize { get; init; } = 1024 * 1024;

    /// <summary>Most elements in any backend array, and items of a <c>forEach</c>.</summary>
    public int MaxItems { get; init; } = 1000;

    /// <summary>The operation id of composition <paramref name="id"/>.</summary>
    public string OperationIdOf(string id) => Operation ?? $"compositions.{id}";

    /// <summary>The composition seen as an operation, for plans: method, public path, tags, access class and required scopes.</summary>
    public OperationConfig AsOperation() => new() { Method = Method.ToUpperInvariant(), Path = Path, Tags = Tags, RequireScopes = RequireScopes };
}
