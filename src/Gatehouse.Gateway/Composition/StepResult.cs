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
        // Built once: every reference to the whole step (or to its status or headers) reads this same object.
        Envelope = ElementValue.Fields(
        [
            new("status", status is { } s ? ElementValue.Number(s.ToString(CultureInfo.InvariantCulture)) : ElementValue.Null),
            new("headers", ElementValue.Fields(headers)),
            new("body", body),
        ]);
    }

    /// <summary>The upstream's status; none for a batched fan-out that had no item to call for.</summary>
    public int? Status { get; }

    /// <summary>The response headers a reference may read, by lower-cased name (empty when none does).</summary>
    public List<KeyValuePair<string, ElementValue>> Headers { get; }

    /// <summary>The body: a borrowed element of the step's document, or a built list for a fan-out.</summary>
    public ElementValue Body { get; }

    /// <summary>The step as <c>@step</c> gives it: <c>{status, headers, body}</c>.</summary>
    public ElementValue Envelope { get; }
}
