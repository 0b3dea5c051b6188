namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Tokens held against a plan's token limits while a call runs (the prompt estimate plus <c>max_tokens</c>), settled to
/// the real usage when the call ends, however it ends. <see cref="None"/> where the plan has no token limits.
/// </summary>
internal sealed class TokenReservation
{
    public static readonly TokenReservation None = new(0, null);

    private readonly Action<AiUsage, long>? _settle;
    private int _settled;

    /// <param name="settle">Given the call's usage and its cost in nano-units (at the price of the model that answered; 0 without one).</param>
    public TokenReservation(long promptEstimate, Action<AiUsage, long>? settle)
    {
        PromptEstimate = promptEstimate;
        _settle = settle;
    }

    /// <summary>The prompt's tokens as counted here (0 when nothing needed them).</summary>
    public long PromptEstimate { get; }

    /// <summary>Replaces the reservation with <paramref name="usage"/> and its <paramref name="costNanos"/>; only the first call counts.</summary>
    public void Settle(AiUsage usage, long costNanos = 0)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _settle?.Invoke(usage, costNanos);
        }
    }
}
