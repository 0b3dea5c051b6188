namespace Gatehouse.Gateway.Ai;

/// <summary>Tokens of one call, as the provider reported them, or estimated where it did not.</summary>
internal readonly record struct AiUsage(long Prompt, long Completion, long Total, bool Estimated)
{
    public static AiUsage From(long prompt, long completion, long total, bool estimated) =>
        new(prompt, completion, total > 0 ? total : prompt + completion, estimated);
}
