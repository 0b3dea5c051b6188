using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary>The state of one model call while it is relayed: what usage was seen, and the text for an estimate.</summary>
internal sealed class AiCall(HttpContext context, string requestId, TokenReservation reservation, bool clientAskedUsage)
{
    public HttpContext Context { get; } = context;

    public string RequestId { get; } = requestId;

    public TokenReservation Reservation { get; } = reservation;

    /// <summary>The stream's usage chunk goes to the client only when it asked for it (<c>stream_options.include_usage</c>).</summary>
    public bool ClientAskedUsage { get; } = clientAskedUsage;

    /// <summary>A provider answered (some of) the call; a call no provider answered uses no tokens.</summary>
    public bool Answered { get; set; }

    /// <summary>The provider model whose response is (being) relayed: the one whose price the call's cost is counted at.</summary>
    public AiModelTarget? Target { get; set; }

    /// <summary>
    /// The id of the Responses API response the gateway keeps (<c>ai.responses</c>), which the client is given instead
    /// of the provider's; null when it keeps none.
    /// </summary>
    public string? KeepId { get; set; }

    /// <summary>With <see cref="KeepId"/>: the conversation the response belongs to (its answer names it), or null.</summary>
    public string? KeepConversation { get; set; }

    /// <summary>With <see cref="KeepId"/>: the final response object as the client gets it, once the call finished.</summary>
    public byte[]? Final { get; set; }

    /// <summary>With <see cref="Final"/>: what is kept of its output when it was read with it (null: read it from <see cref="Final"/>).</summary>
    public byte[]? FinalOutput { get; set; }

    /// <summary>With <see cref="KeepId"/>: keeps the final response; called before its last bytes go to the client.</summary>
    public Func<byte[], byte[]?, ValueTask>? KeepAsync { get; set; }

    /// <summary>
    /// The client left after the call was sent to a provider: the call is settled with what was counted (the provider's
    /// usage if it came, else the estimate), as a cut stream is, whether its call was ended with the client's
    /// (<c>onClientLeave: cancel</c>, <see cref="CutWithClient"/>) or read to its end without it (<see cref="Drain"/>).
    /// The leaving is never the provider's failure, and no other provider is tried for it; a provider that fails while it
    /// is read without the client counts towards its cooldown as it would with the client there (<see cref="DrainOutcome"/>).
    /// </summary>
    public bool ClientLeft { get; set; }

    /// <summary>
    /// The client left and the gateway ended the provider's call with it (<c>onClientLeave: cancel</c>): the provider has
    /// read the prompt and may have generated more than was seen, so the call is charged, estimated, even when nothing of
    /// the answer came. A provider that finishes for a client that left (<c>finish</c>) is charged as it would be with the
    /// client there: by its usage, or the estimate when it broke mid-answer, and nothing when it failed before its answer
    /// began (a 5xx, a refusal, a broken connection or its timeout before the first event or the whole body), which it does
    /// not bill either.
    /// </summary>
    public bool CutWithClient => ClientLeft && Target is { Provider.FinishWhenClientLeaves: false };

    /// <summary>
    /// Set when the client left while a provider was still answering and the provider finishes for it
    /// (<c>onClientLeave: finish</c>): the reading of the rest of the answer, detached from the client's request, which
    /// ends once the provider's usage came or the provider's timeout passed, with how the provider did. The call is settled
    /// after it, never before.
    /// </summary>
    public Task<DrainOutcome>? Drain { get; set; }

    /// <summary>The provider's usage, once it reported it.</summary>
    public AiUsage? Usage { get; set; }

    /// <summary>The prompt's tokens as the provider reported them before its final usage (Anthropic's <c>message_start</c>).</summary>
    public long? ProviderPrompt { get; set; }

    /// <summary>The completion text seen so far, for an estimate when the provider's usage never comes (a cut stream).</summary>
    public StringBuilder? CompletionText { get; set; } = ReferenceEquals(reservation, TokenReservation.None) ? null : new();

    /// <summary>The usage to record when the provider's is missing: the prompt estimate and the completion seen, counted here.</summary>
    public AiUsage Estimate()
    {
        var completion = CompletionText is { Length: > 0 } text ? TokenCounter.Count(text.ToString()) : 0;
        return AiUsage.From(ProviderPrompt ?? Reservation.PromptEstimate, completion, 0, estimated: true);
    }
}
