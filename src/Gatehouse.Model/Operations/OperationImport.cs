using Gatehouse.Model.Config;
using Gatehouse.Model.Routing;

namespace Gatehouse.Model.Operations;

/// <summary>One operation of a document turned into config: its id, and the operation or why it cannot be one.</summary>
/// <param name="Id">The document's operationId, or the derived id.</param>
/// <param name="Source">The operation as the document states it.</param>
/// <param name="Description">E.g. <c>GET /users/{id} in 'users.json'</c>, for messages.</param>
/// <param name="Operation">The operation, or null when it cannot be imported.</param>
/// <param name="Problem">Why it cannot be imported, or null.</param>
/// <param name="Fix">How to fix <paramref name="Problem"/> when the document is imported by the config (<c>openapi</c>).</param>
public sealed record OperationImportResult(string Id, ImportedOperation Source, string Description, OperationConfig? Operation, string? Problem, string? Fix = null);

/// <summary>Turns the operations of an OpenAPI document into config operations; shared by the loader and <c>gatehouse import-openapi</c>.</summary>
public static class OperationImport
{
    /// <summary>
    /// Converts every operation of <paramref name="document"/> for service <paramref name="service"/>, in document
    /// order. <paramref name="source"/> names the document in messages.
    /// </summary>
    public static IReadOnlyList<OperationImportResult> Convert(string service, ImportedDocument document, string source)
    {
        var results = new List<OperationImportResult>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var op in document.Operations)
        {
            var described = $"{op.Method} {op.Path} in {source}";
            var id = op.OperationId ?? OperationIds.Derive(service, op.Method, op.Path);
            string? problem = null;
            string? fix = null;
            if (PathTemplate.TryParse(op.Path, out var pathError) is null)
            {
                problem = $"{described} cannot be imported: {pathError}";
                fix = "Fix the path in the document, or import the document with 'gatehouse import-openapi' and change the path in the config.";
            }
            else if (!OperationIds.IsValid(id))
            {
                problem = op.OperationId is null
                    ? $"{described} has no operationId, and the id derived from the service name and path, '{id}', is longer than 100 characters; give it an operationId in the document."
                    : $"{described} has operationId '{id}', which cannot be an id here: ids are 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit.";
                fix = op.OperationId is null ? null : "Change it in the document, or import the document with 'gatehouse import-openapi' and rename it in the config.";
            }
            else if (seen.TryGetValue(id, out var first))
            {
                problem = $"{described} has the id '{id}', and so has {first}; give each its own operationId in the document.";
            }
            else
            {
                seen[id] = described;
            }

            var operation = problem is null ? new OperationConfig { Method = op.Method, Path = op.Path, Tags = op.Tags, Contract = op.Contract } : null;
            results.Add(new OperationImportResult(id, op, described, operation, problem, fix));
        }

        return results;
    }
}
