using System.Text.Json.Nodes;

namespace Gatehouse.Model.Config;

/// <summary>
/// A composition (<c>compositions.ID</c>): a public route whose handler is a small graph of backend calls
/// (<see cref="Steps"/>) and a JSON template (<see cref="Response"/>) that shapes their results into one response.
/// It is an operation for plans, like any service operation. See docs/compositions.md.
/// </summary>
public sealed record CompositionConfig
{
    /// <summary>The public method. Default: <c>GET</c>.</summary>
    public string Method { get; init; } = "GET";

    /// <summary>The public path template, in route syntax (<c>/users/{id}/order-history</c>). Required.</summary>
    public required string Path { get; init; }

    /// <summary>Only requests for this host (<c>api.example.com</c>, <c>*.example.com</c>). Default: any host.</summary>
    public string? Host { get; init; }

    /// <summary>Its operation id, which plans grant and limit. Default: <c>compositions.ID</c>.</summary>
    public string? Operation { get; init; }

    /// <summary>Labels plans can grant it by. Default: none.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The backend calls by name. Required, at least one.</summary>
    public IReadOnlyDictionary<string, CompositionStepConfig> Steps { get; init; } = new Dictionary<string, CompositionStepConfig>();

    /// <summary>The JSON template of the response body. Default: an object with each step's body under its name.</summary>
    public JsonNode? Response { get; init; }

    /// <summary>Time for the whole composition; outstanding calls are cancelled when it passes. Default: 10s.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Send a <c>Server-Timing</c> header with one entry per step: <c>name;dur=ms</c> for a step that ran,
    /// <c>name;desc="skipped"</c> for one cancelled before its call. Default: false.
    /// </summary>
    public bool ServerTiming { get; init; }

    /// <summary>Deepest nesting accepted in a backend's JSON body. Default: 64.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Largest backend body read, in bytes. Default: 1MB.</summary>
    public long MaxBodySize { get; init; } = 1024 * 1024;

    /// <summary>Most elements accepted in any one array of a backend's body, and items of a <c>forEach</c>. Default: 1000.</summary>
    public int MaxItems { get; init; } = 1000;

    /// <summary>The operation id of composition <paramref name="id"/>.</summary>
    public string OperationIdOf(string id) => Operation ?? $"compositions.{id}";

    /// <summary>The composition seen as an operation, for plans: method, public path, tags and access class.</summary>
    public OperationConfig AsOperation() => new() { Method = Method.ToUpperInvariant(), Path = Path, Tags = Tags };
}
