using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Ai;

/// <summary>One provider model behind an alias, and its price per million tokens when configured.</summary>
internal sealed record AiModelTarget(AiProvider Provider, string Model, AiPriceConfig? Price = null);
