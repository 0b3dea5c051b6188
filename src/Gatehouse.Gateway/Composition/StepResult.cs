using System.Globalization;
using Gatehouse.Model.Compositions;

namespace Gatehouse.Gateway.Composition;

/// <summary>
/// What one step gave: its status, its response headers (lower-cased names, only when a reference reads them) and
/// its body, as a reference sees them. The body borrows from the run's <see cref="JsonDocumentBody"/>s, which the run
/// disposes once the answer is written: a result is never read after that.
/// </summary>
internal sealed class StepResult
{
    public StepResult(int? status, List<KeyValuePair<string, ElementValue>> headers, ElementValue body)
    {
        (Status, Headers, Body) = (status, headers, body);
        StatusValue = status is { } s ? ElementValue.Number(s.ToString(CultureInfo.InvariantCulture)) : ElementValue.Null;
    }

    /// <summary>The upstream's status; none for a batched fan-out that had no item to call for.</summary>
    public int? Status { get; }

    /// <summary>The response headers a reference may read, by lower-cased name (empty when none does).</summary>
    public List<KeyValuePair<string, ElementValue>> Headers { get; }

    /// <summary>The body: a borrowed element of the step's document, or a built list for a fan-out.</summary>
    public ElementValue Body { get; }

    /// <summary>The status as a reference reads it: a number, or null when there is none.</summary>
    public ElementValue StatusValue { get; }
}
