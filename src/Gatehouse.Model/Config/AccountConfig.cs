using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>A consumer organisation or developer who signed up; owns applications.</summary>
[EmptyAllowed]
public sealed record AccountConfig
{
    /// <summary>Name shown to people. Default: the account's key.</summary>
    public string? Title { get; init; }

    /// <summary>Contact address. Default: none.</summary>
    public string? Email { get; init; }
}
