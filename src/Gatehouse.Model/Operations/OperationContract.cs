namespace Gatehouse.Model.Operations;

/// <summary>
/// What an operation's OpenAPI document says its requests and responses look like, with every schema turned into a
/// self-contained JSON Schema 2020-12 document (OpenAPI 3.0 schemas converted, <c>$ref</c>s to components copied in
/// as <c>$defs</c>). Read at load; the gateway compiles the schemas once per revision to validate requests.
/// </summary>
/// <param name="Parameters">Path, query and header parameters (cookie parameters are not checked).</param>
/// <param name="Body">The request body, or null when the operation declares none.</param>
/// <param name="Responses">Response schemas by status (<c>200</c>, <c>2XX</c>, <c>default</c>), then by media type.</param>
public sealed record OperationContract(
    IReadOnlyList<ParameterContract> Parameters,
    RequestBodyContract? Body,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string?>> Responses);

/// <summary>One parameter of an operation.</summary>
/// <param name="Name">As written in the document.</param>
/// <param name="In"><c>path</c>, <c>query</c> or <c>header</c>.</param>
/// <param name="Required">Whether a request must carry it (path parameters always).</param>
/// <param name="Schema">The JSON Schema text, or null when the document gives none.</param>
public sealed record ParameterContract(string Name, string In, bool Required, string? Schema);

/// <summary>An operation's request body.</summary>
/// <param name="Required">Whether a request must carry one.</param>
/// <param name="Content">JSON Schema text by media type or range (<c>application/json</c>, <c>application/*</c>); null for a type without a schema.</param>
public sealed record RequestBodyContract(bool Required, IReadOnlyDictionary<string, string?> Content);
