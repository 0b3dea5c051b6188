using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>
/// An operation as written under <c>services.NAME.operations</c>, before it is merged with the imported ones:
/// every field may be missing, because a declaration of an imported id overrides only what it sets.
/// </summary>
/// <param name="Id">The operation id (the mapping key).</param>
/// <param name="ConfigPath">Where it is written, e.g. <c>services.users.operations.users.ping</c>.</param>
/// <param name="Line">Its line in the config file.</param>
internal sealed record OperationDeclaration(string Id, string ConfigPath, int? Line)
{
    public string? Method { get; init; }

    public string? Path { get; init; }

    public IReadOnlyList<string>? Tags { get; init; }

    public OperationAccess? Access { get; init; }

    public IReadOnlyList<string>? RequireScopes { get; init; }
}

/// <summary>What the reader knows about a service's operation keys beyond the bound records: declarations and lines.</summary>
internal sealed class ServiceOperationSyntax
{
    public List<OperationDeclaration> Declared { get; } = [];

    /// <summary>Line of the <c>openapi</c> block's <c>file</c> or <c>url</c>.</summary>
    public int? OpenApiLine { get; set; }

    /// <summary>Line of the <c>publish</c> block.</summary>
    public int? PublishLine { get; set; }
}
