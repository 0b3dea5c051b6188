namespace Gatehouse.Model.Config;

/// <summary>What a node does with a <c>scope: cluster</c> limit while the counter engine does not answer.</summary>
public enum EngineDownAction
{
    /// <summary>Count locally against an equal share of the limit: the limit divided by the number of nodes.</summary>
    Share,

    /// <summary>Admit every request (still counted locally and added to the engine when it is back).</summary>
    Allow,

    /// <summary>Admit only what this node already holds leases for (strict), nothing else: 429 until the engine is back.</summary>
    Deny,
}
