using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// One operation of a service: a method and path template with a global id such as <c>users.getUser</c>.
/// Imported from the service's OpenAPI document or declared under <c>services.NAME.operations</c>.
/// </summary>
public sealed record OperationConfig
{
    private readonly OperationAccess? _access;

    /// <summary>The HTTP method, e.g. <c>GET</c>; required for an id the document does not have.</summary>
    [DocType("HTTP method")]
    [DefaultText("the document's")]
    public required string Method { get; init; }

    /// <summary>
    /// The path on the service, in route syntax: <c>/users/{id}</c>; required for an id the document does not have.
    /// </summary>
    [DocType("template")]
    [DefaultText("the document's")]
    public required string Path { get; init; }

    /// <summary>Labels; plans grant by tag.</summary>
    [DefaultText("`[]` (or the document's)")]
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary><c>read</c> for GET, HEAD and OPTIONS, <c>write</c> for the others, unless declared.</summary>
    [DefaultText("from the method")]
    public OperationAccess Access
    {
        get => _access ?? AccessOf(Method);
        init => _access = value;
    }

    /// <summary>
    /// OAuth scopes a bearer token must carry, every one of them, to call the operation through any route (see a route's
    /// <c>requireScopes</c>, which adds to these). May be declared for an imported operation's id too.
    /// </summary>
    [DocType("list of scopes")]
    [DefaultText("`[]` (none)")]
    public IReadOnlyList<string> RequireScopes { get; init; } = [];

    /// <summary>
    /// What the service's OpenAPI document says the operation's requests and responses look like; null for an
    /// operation declared only in config. Set by OpenAPI import, never written in config.
    /// </summary>
    [NotConfig]
    public Operations.OperationContract? Contract { get; init; }

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
