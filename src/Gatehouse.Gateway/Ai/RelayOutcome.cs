namespace Gatehouse.Gateway.Ai;

/// <summary>How relaying one provider's response ended.</summary>
internal enum RelayOutcome
{
    /// <summary>The client got an answer; no other provider is tried.</summary>
    Done,
    /// <summary>
    /// The client left while the provider was answering (<see cref="AiCall.ClientLeft"/>): the rest is read without it
    /// (<see cref="AiCall.Drain"/>), or the provider's call was cancelled with it, by the provider's <c>onClientLeave</c>.
    /// </summary>
    Left,
    /// <summary>Nothing was sent to the client, and the provider was too slow.</summary>
    TimedOut,
    /// <summary>Nothing was sent to the client, and the provider's response was broken.</summary>
    Broken,
}
