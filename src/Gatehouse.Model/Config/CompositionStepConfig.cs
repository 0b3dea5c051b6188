using Gatehouse.Model.Schema;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Config;

/// <summary>
/// One backend call of a composition: an <see cref="Operation"/> with <see cref="Params"/>, or a
/// <see cref="Service"/> + <see cref="Method"/> + <see cref="Path"/>. Values are references (<c>@request.path.id</c>,
/// <c>@user.body.id</c>, <c>@item</c>) or literals; a step runs once every step it references has finished.
/// </summary>
public sealed record CompositionStepConfig
{
    /// <summary>The operation to call; or <c>service</c> and <c>path</c>.</summary>
    [DocType("operation id")]
    [DefaultText("—")]
    public string? Operation { get; init; }

    /// <summary>A declared service to call, with <c>path</c>.</summary>
    [DocType("name")]
    [DefaultText("—")]
    public string? Service { get; init; }

    /// <summary>With <c>service</c>: the method.</summary>
    [DocType("HTTP method")]
    [DefaultText("`GET`")]
    public string? Method { get; init; }

    /// <summary>With <c>service</c>: the path on it, in route syntax; each parameter comes from <c>params</c>.</summary>
    [DocType("template")]
    [DefaultText("—")]
    public string? Path { get; init; }

    /// <summary>Path parameters: a reference or a literal, each value exactly one encoded segment.</summary>
    public IReadOnlyDictionary<string, string> Params { get; init; } = new Dictionary<string, string>();

    /// <summary>Query parameters: a reference or a literal, percent-encoded; an array repeats the parameter.</summary>
    public IReadOnlyDictionary<string, string> Query { get; init; } = new Dictionary<string, string>();

    /// <summary>Request headers (not <c>Host</c> or <c>Gatehouse-*</c>): a reference or a literal.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Sent as <c>application/json</c>.</summary>
    public JsonNode? Body { get; init; }

    /// <summary>Run once per distinct element of the array, as <c>@item</c>.</summary>
    [DocType("reference")]
    public string? ForEach { get; init; }

    /// <summary>With <c>forEach</c>, calls at once.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>With <c>forEach</c>, the most items.</summary>
    [DefaultText("the composition's")]
    public int? MaxItems { get; init; }

    /// <summary>
    /// With <c>forEach</c>: one call with all items in query <c>param</c> joined by <c>separator</c> (<c>,</c>),
    /// results matched by field <c>key</c> (<c>id</c>); <c>missing</c> says what an item the call did not return does.
    /// </summary>
    [DocType("`{ param, separator, key, missing }`")]
    public CompositionBatchConfig? Batch { get; init; }

    /// <summary>A failure leaves null and names the step in <c>Gatehouse-Missing-Steps</c>.</summary>
    public bool Optional { get; init; }

    /// <summary>For the call, body included.</summary>
    [DefaultText("the service's")]
    public TimeSpan? Timeout { get; init; }

    /// <summary>The answer when the step fails with an upstream status, e.g. <c>{ 404: 404 }</c>; otherwise 502.</summary>
    [DocType("mapping status → status")]
    [DefaultText("`{}`")]
    public IReadOnlyDictionary<int, int> StatusMap { get; init; } = new Dictionary<int, int>();

    /// <summary>
    /// The status the composition answers (problem type <c>composition-step-empty</c>) when the step succeeds with an
    /// empty answer: no body, <c>null</c>, <c>[]</c> or <c>{}</c> (for a <c>forEach</c> step, no item at all). An optional
    /// step is then missing instead.
    /// </summary>
    [DocType("HTTP status")]
    [Minimum(100)]
    [DefaultText("none: empty is a value")]
    public int? WhenEmpty { get; init; }

    /// <summary>Send the client's API key header or <c>Authorization</c>.</summary>
    public bool ForwardCredential { get; init; }
}
