namespace Gatehouse.Gateway.Composition;

/// <summary>Why one step failed: the status the composition answers with if the step is required, and a sentence for the problem.</summary>
internal sealed class StepFailure(int status, string slug, string detail, int? upstreamStatus = null) : Exception(detail)
{
    public int Status { get; } = status;

    public string Slug { get; } = slug;

    public string Detail { get; } = detail;

    public int? UpstreamStatus { get; } = upstreamStatus;
}
