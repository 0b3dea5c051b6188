namespace Gatehouse.Model.Config;

/// <summary>
/// One operation of a service: a method and path template with a global id such as <c>users.getUser</c>.
/// Imported from the service's OpenAPI document or declared under <c>services.NAME.operations</c>.
/// </summary>
public sealed record OperationConfig
{
    private readonly OperationAccess? _access;

    /// <summary>HTTP method, upper case (<c>GET</c>). Required for an operation the OpenAPI document does not define.</summary>
    public required string Method { get; init; }

    /// <summary>
    /// Path template on the service, in route syntax (<c>/users/{id}</c>). Required for an operation the OpenAPI
    /// document does not define. Published routes and routes bound to the operation send requests to this path.
    /// </summary>
    public required string Path { get; init; }

    /// <summary>Free-form labels (from the document's <c>tags</c>, or declared). Plans will grant operations by tag. Default: none.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>
    /// <c>read</c> or <c>write</c>. Default: from the method, <c>read</c> for GET, HEAD and OPTIONS and
    /// <c>write</c> for every other method. Plans will grant read and write access separately.
    /// </summary>
    public OperationAccess Access
    {
        get => _access ?? AccessOf(Method);
        init => _access = value;
    }

    /// <summary>The access class a method has when none is declared.</summary>
    public static OperationAccess AccessOf(string method) =>
        method.ToUpperInvariant() is "GET" or "HEAD" or "OPTIONS" ? OperationAccess.Read : OperationAccess.Write;
}

/// <summary>Whether an operation reads or changes state.</summary>
public enum OperationAccess
{
    /// <summary>Reads only (GET, HEAD, OPTIONS by default).</summary>
    Read,
    /// <summary>Changes state (every other method by default).</summary>
    Write,
}
