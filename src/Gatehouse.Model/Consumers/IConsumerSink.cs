namespace Gatehouse.Model.Consumers;

/// <summary>
/// Where consumer applications go live: the gateway's access model implements it, the store's follower feeds it. Kept
/// here (no ASP.NET, no store) so that the control plane can feed a gateway it does not reference.
/// </summary>
public interface IConsumerSink
{
    /// <summary>Replaces every consumer application with <paramref name="applications"/> (a node's first read).</summary>
    void Reset(IEnumerable<ConsumerApplication> applications);

    /// <summary>Adds or replaces one application (its keys, plan and state).</summary>
    void Upsert(ConsumerApplication application);

    /// <summary>Removes one application and its keys; nothing when it is unknown.</summary>
    void Remove(string id);
}
