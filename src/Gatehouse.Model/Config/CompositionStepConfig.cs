using System.Text.Json.Nodes;

namespace Gatehouse.Model.Config;

/// <summary>
/// One backend call of a composition: an <see cref="Operation"/> with <see cref="Params"/>, or a
/// <see cref="Service"/> + <see cref="Method"/> + <see cref="Path"/>. Values are references (<c>@request.path.id</c>,
/// <c>@user.body.id</c>, <c>@item</c>) or literals; a step runs once every step it references has finished.
/// </summary>
public sealed record CompositionStepConfig
{
    /// <summary>The operation to call, by id (<c>users.getUser</c>). Give this or <see cref="Service"/> and <see cref="Path"/>.</summary>
    public string? Operation { get; init; }

    /// <summary>The service to call, a key of <c>services</c>. With <see cref="Path"/>.</summary>
    public string? Service { get; init; }

    /// <summary>The method with <see cref="Service"/>. Default: <c>GET</c>.</summary>
    public string? Method { get; init; }

    /// <summary>Path template on the service with <see cref="Service"/> (<c>/users/{id}</c>); each parameter comes from <see cref="Params"/>.</summary>
    public string? Path { get; init; }

    /// <summary>Path parameters by name: a reference or a literal. Each value becomes exactly one encoded path segment. Default: none.</summary>
    public IReadOnlyDictionary<string, string> Params { get; init; } = new Dictionary<string, string>();

    /// <summary>Query parameters by name: a reference or a literal, each value percent-encoded; an array gives the parameter once per element. Default: none.</summary>
    public IReadOnlyDictionary<string, string> Query { get; init; } = new Dictionary<string, string>();

    /// <summary>Request headers by name: a reference or a literal. Default: none.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>A JSON template sent as the request body. Default: no body.</summary>
    public JsonNode? Body { get; init; }

    /// <summary>A reference to an array: the step runs once per distinct element, available as <c>@item</c>. Default: once.</summary>
    public string? ForEach { get; init; }

    /// <summary>With <see cref="ForEach"/>, how many calls run at once. Default: 8.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>With <see cref="ForEach"/>, the most items; more fail the step. Default: the composition's <c>maxItems</c>.</summary>
    public int? MaxItems { get; init; }

    /// <summary>With <see cref="ForEach"/>: one call with every distinct item instead of one per item. Default: off.</summary>
    public CompositionBatchConfig? Batch { get; init; }

    /// <summary>A failure leaves the step's values null and names it in <c>Gatehouse-Missing-Steps</c> instead of failing the composition. Default: false (required).</summary>
    public bool Optional { get; init; }

    /// <summary>Time for the step's call, body included. Default: the service's <c>timeout</c>.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Upstream status → status of the composition's answer when this step fails with it (<c>{ 404: 404 }</c>). Default: 502 for every failure.</summary>
    public IReadOnlyDictionary<int, int> StatusMap { get; init; } = new Dictionary<int, int>();

    /// <summary>
    /// The status the composition answers (problem type <c>composition-step-empty</c>) when the step succeeds with an
    /// empty answer: no body, <c>null</c>, <c>[]</c> or <c>{}</c> (for a <c>forEach</c> step, no item at all). An optional
    /// step is then missing instead. Default: none (an empty answer is a value like any other).
    /// </summary>
    public int? WhenEmpty { get; init; }

    /// <summary>Send the client's API key header or <c>Authorization</c> to the service. Default: false.</summary>
    public bool ForwardCredential { get; init; }
}
