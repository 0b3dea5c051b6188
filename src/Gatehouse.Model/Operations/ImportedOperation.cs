namespace Gatehouse.Model.Operations;

/// <summary>One operation as an OpenAPI document states it, before ids are derived or checked.</summary>
/// <param name="Method">Upper-case HTTP method.</param>
/// <param name="Path">The document's path key, e.g. <c>/users/{id}</c>.</param>
/// <param name="OperationId">The document's <c>operationId</c>, or null when it has none.</param>
/// <param name="Tags">The operation's tags, in document order.</param>
/// <param name="Contract">Its parameters, body and response schemas, for validation.</param>
public sealed record ImportedOperation(string Method, string Path, string? OperationId, IReadOnlyList<string> Tags, OperationContract? Contract = null);

/// <summary>What an OpenAPI document yields: its version and title, and its operations in document order.</summary>
/// <param name="Version">The document's <c>openapi</c> version family: <c>3.0</c> or <c>3.1</c>.</param>
/// <param name="Title">The document's <c>info.title</c>, when it has one.</param>
/// <param name="Operations">Every operation under <c>paths</c>.</param>
public sealed record ImportedDocument(string Version, string? Title, IReadOnlyList<ImportedOperation> Operations);
