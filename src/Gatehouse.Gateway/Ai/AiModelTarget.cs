namespace Gatehouse.Gateway.Ai;

/// <summary>One provider model behind an alias.</summary>
internal sealed record AiModelTarget(AiProvider Provider, string Model);
