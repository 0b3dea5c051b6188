using System.Diagnostics.Metrics;

namespace Gatehouse.Gateway.Composition;

/// <summary>
/// The composition metrics (meter <c>Gatehouse.Composition</c>). With no listener each is one enabled check per
/// request or step; the tags are the composition's id and step names from the config, never request values.
/// </summary>
internal static class CompositionMetrics
{
    private static readonly Meter Meter = new("Gatehouse.Composition");

    /// <summary>Composition requests, tagged with the composition and the outcome (<see cref="Outcome"/>).</summary>
    internal static readonly Counter<long> Requests = Meter.CreateCounter<long>("gatehouse.composition.requests", unit: "{request}", description: "Composition requests, by outcome");

    /// <summary>How long each step took, from the moment it could start (its references ready) to its result.</summary>
    internal static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>("gatehouse.composition.step.duration", unit: "s", description: "Duration of a composition step");

    /// <summary>Optional steps that failed or missed the deadline, so that the answer went out without them.</summary>
    internal static readonly Counter<long> MissingSteps = Meter.CreateCounter<long>("gatehouse.composition.missing_steps", unit: "{step}", description: "Optional composition steps left out of the answer");

    /// <summary>Items a batched call did not return an element for (<c>batch.missing</c> says what the step did with them).</summary>
    internal static readonly Counter<long> MissingItems = Meter.CreateCounter<long>("gatehouse.composition.batch.missing_items", unit: "{item}", description: "Items a batched composition call did not return");

    /// <summary>The values of the <c>outcome</c> tag.</summary>
    internal static class Outcome
    {
        public const string Ok = "ok";
        public const string StepFailed = "step-failed";
        public const string Deadline = "deadline";
        public const string ShapeFailed = "shape-failed";
        public const string Refused = "refused";
        public const string Aborted = "aborted";
    }

    public static void Request(string composition, string outcome)
    {
        if (Requests.Enabled)
        {
            Requests.Add(1, new KeyValuePair<string, object?>("composition", composition), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    public static void Step(string composition, string step, TimeSpan elapsed)
    {
        if (StepDuration.Enabled)
        {
            StepDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("composition", composition), new KeyValuePair<string, object?>("step", step));
        }
    }

    public static void Missing(string composition, string step)
    {
        if (MissingSteps.Enabled)
        {
            MissingSteps.Add(1, new KeyValuePair<string, object?>("composition", composition), new KeyValuePair<string, object?>("step", step));
        }
    }

    public static void ItemsMissing(string composition, string step, int count)
    {
        if (MissingItems.Enabled)
        {
            MissingItems.Add(count, new KeyValuePair<string, object?>("composition", composition), new KeyValuePair<string, object?>("step", step));
        }
    }
}
