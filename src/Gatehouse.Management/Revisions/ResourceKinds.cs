namespace Gatehouse.Management.Revisions;

/// <summary>
/// The kinds of resource the configuration is stored as, and the top-level key of the config document each
/// one fills: one resource per entry of <c>services</c>, <c>routes</c>, <c>plans</c>, <c>accounts</c>,
/// <c>applications</c> and <c>compositions</c>, and one resource named <c>gateway</c> for the <c>gateway</c> section.
/// </summary>
public static class ResourceKinds
{
    public const string Gateway = "gateway";
    public const string Service = "service";
    public const string Route = "route";
    public const string Plan = "plan";
    public const string Account = "account";
    public const string Application = "application";
    public const string Composition = "composition";

    /// <summary>The only name a <see cref="Gateway"/> resource has.</summary>
    public const string GatewayName = "gateway";

    /// <summary>The kinds that are mappings of named entries, with the document key (and admin URL segment) of each.</summary>
    public static IReadOnlyList<(string Kind, string Section)> Named { get; } =
    [
        (Service, "services"),
        (Route, "routes"),
        (Plan, "plans"),
        (Account, "accounts"),
        (Application, "applications"),
        (Composition, "compositions"),
    ];

    /// <summary>The document key of <paramref name="kind"/>, or null when it is not a kind of the config.</summary>
    public static string? SectionOf(string kind) =>
        kind == Gateway ? "gateway" : Named.FirstOrDefault(k => k.Kind == kind).Section;

    /// <summary>The kind whose entries live under document key <paramref name="section"/>, or null.</summary>
    public static string? KindOf(string section) =>
        section == "gateway" ? Gateway : Named.FirstOrDefault(k => k.Section == section).Kind;
}
