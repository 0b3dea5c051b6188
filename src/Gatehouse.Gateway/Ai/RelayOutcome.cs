namespace Gatehouse.Gateway.Ai;

/// <summary>How relaying one provider's response ended.</summary>
internal enum RelayOutcome
{
    /// <summary>The client got an answer; no other provider is tried.</summary>
    Done,
    /// <summary>The client left while the provider was answering; the provider's call was cancelled with it (<see cref="AiCall.ClientLeft"/>).</summary>
    Left,
    /// <summary>Nothing was sent to the client, and the provider was too slow.</summary>
    TimedOut,
    /// <summary>Nothing was sent to the client, and the provider's response was broken.</summary>
    Broken,
}
