namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Tokens held against a plan's token limits while a call runs (the prompt estimate plus <c>max_tokens</c>), settled to
/// the real usage when the call ends, however it ends. <see cref="None"/> where the plan has no token limits.
/// </summary>
internal sealed class TokenReservation
{
    public static readonly TokenReservation None = new(0, null);

    private readonly Action<AiUsage>? _settle;
    private int _settled;

    public TokenReservation(long promptEstimate, Action<AiUsage>? settle)
    {
        PromptEstimate = promptEstimate;
        _settle = settle;
    }

    /// <summary>The prompt's tokens as counted here (0 when nothing needed them).</summary>
    public long PromptEstimate { get; }

    /// <summary>Replaces the reservation with <paramref name="usage"/>; only the first call counts.</summary>
    public void Settle(AiUsage usage)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _settle?.Invoke(usage);
        }
    }
}
