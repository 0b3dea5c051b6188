using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// Batching of a <c>forEach</c> step: one call carrying every distinct item in one query parameter
/// (<c>/products?ids=1,2,3</c>); the elements of the returned array are matched back to items by <see cref="Key"/>.
/// </summary>
public sealed record CompositionBatchConfig
{
    /// <summary>The query parameter that carries the items.</summary>
    [DefaultText("required")]
    public required string Param { get; init; }

    /// <summary>Between two items in the parameter's value.</summary>
    public string Separator { get; init; } = ",";

    /// <summary>The field of each returned element that equals its item.</summary>
    public string Key { get; init; } = "id";

    /// <summary>
    /// What an item the call did not return does: <c>drop</c> (the body holds what came back; a join on the item is
    /// null), <c>null</c> (a null in the item's place) or <c>fail</c> (the step fails as a 404 would: <c>statusMap</c>'s
    /// 404, else 502).
    /// </summary>
    public BatchMissing Missing { get; init; } = BatchMissing.Drop;
}
