namespace Gatehouse.Gateway.Ai;

/// <summary>
/// How the reading of a provider's answer for a client that left (<see cref="AiCall.Drain"/>) ended, judged as the same
/// answer is with the client there: a provider that failed before its answer began (a 5xx, 429 or refusal of the
/// gateway, a broken connection, its timeout, a broken first event or whole body) has <see cref="Failed"/>, which counts
/// towards its cooldown and ends its span with the error; any other end (an answer, a 4xx refusing the call, a stream
/// that broke after it began) is the provider answering, which resets its count. The client's leaving itself is never
/// the provider's failure.
/// </summary>
/// <param name="Failed">The provider failed before its answer began.</param>
/// <param name="Status">The provider's response status, when its headers came after the client left (0 otherwise).</param>
/// <param name="Error">The span's <c>error.type</c> when the failure has no status of its own (<c>timeout</c>, <c>broken_response</c>, …).</param>
/// <param name="RetryAfter">A 429's <c>Retry-After</c>, when it had one.</param>
internal readonly record struct DrainOutcome(bool Failed, int Status = 0, string? Error = null, TimeSpan? RetryAfter = null)
{
    /// <summary>The provider answered: to its end, or broken after its answer began (estimated, as with the client there).</summary>
    public static DrainOutcome Answered => default;

    /// <summary>The provider's timeout passed before its answer began.</summary>
    public static DrainOutcome TimedOut => new(true, Error: "timeout");

    /// <summary>The provider's answer broke before it began (a reset, an early end, a first event or whole body that is not its API's).</summary>
    public static DrainOutcome Broken => new(true, Error: "broken_response");

    /// <summary>The failure a whole answer's reading or a stream's start ended in, as <see cref="RelayOutcome"/> names it.</summary>
    public static DrainOutcome Of(RelayOutcome failed) => failed == RelayOutcome.TimedOut ? TimedOut : Broken;
}
