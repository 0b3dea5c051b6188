namespace Gatehouse.Gateway.Upstreams;

/// <summary>What one request says about the health of the destination it was sent to (passive health).</summary>
internal enum UpstreamOutcome
{
    /// <summary>The destination answered below 500: a success, which ends a failure streak.</summary>
    Succeeded,

    /// <summary>The destination's own failure: not reachable, reset, timed out, a malformed response, or a 5xx.</summary>
    Failed,

    /// <summary>
    /// Nothing was learned about the destination: the request could not be built or validated, the client left, or the
    /// client's body broke off. Passive health is left as it was, so no client can eject a healthy destination, nor
    /// keep a failing one in by interleaving requests that never reach it (issue 16, F2).
    /// </summary>
    NotJudged,
}
