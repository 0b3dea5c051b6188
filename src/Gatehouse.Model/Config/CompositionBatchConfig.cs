namespace Gatehouse.Model.Config;

/// <summary>
/// Batching of a <c>forEach</c> step: one call carrying every distinct item in one query parameter
/// (<c>/products?ids=1,2,3</c>); the elements of the returned array are matched back to items by <see cref="Key"/>.
/// </summary>
public sealed record CompositionBatchConfig
{
    /// <summary>The query parameter that carries the items. Required.</summary>
    public required string Param { get; init; }

    /// <summary>Between two items in the parameter's value. Default: <c>,</c>.</summary>
    public string Separator { get; init; } = ",";

    /// <summary>The field of each returned element that equals its item. Default: <c>id</c>.</summary>
    public string Key { get; init; } = "id";

    /// <summary>What an item the call did not return an element for does to the step. Default: <see cref="BatchMissing.Drop"/>.</summary>
    public BatchMissing Missing { get; init; } = BatchMissing.Drop;
}
