namespace Gatehouse.Gateway.Ai;

/// <summary>The operations of Anthropic's own API, whose clients read its shapes of errors and models.</summary>
internal static class AiOperations
{
    public static bool IsAnthropic(this AiOperation operation) => operation is AiOperation.Messages or AiOperation.CountTokens;
}
