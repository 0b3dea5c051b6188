using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>A consumer organisation or developer who signed up; owns applications.</summary>
[EmptyAllowed]
public sealed record AccountConfig
{
    /// <summary>Shown to people.</summary>
    [DefaultText("the id")]
    public string? Title { get; init; }

    /// <summary>Contact address.</summary>
    public string? Email { get; init; }
}
