namespace Gatehouse.Model.Config;

/// <summary>What a batched <c>forEach</c> step does with an item the backend did not return (<c>batch.missing</c>).</summary>
public enum BatchMissing
{
    /// <summary>The step's body holds only the elements returned, in item order; a <c>@lookup</c> of a missing item is null.</summary>
    Drop,
    /// <summary>The step's body holds one entry per distinct item, in item order, with <c>null</c> for each one not returned.</summary>
    Null,
    /// <summary>
    /// The step fails as a call that answered 404 would: the composition answers the step's <c>statusMap</c> entry for
    /// 404, else 502, with problem type <c>composition-batch-incomplete</c> naming the missing items.
    /// </summary>
    Fail,
}
