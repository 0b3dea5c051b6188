namespace Gatehouse.Management.Stores;

/// <summary>
/// A store that can say at once when a config revision was committed by any process sharing it (PostgreSQL's
/// <c>LISTEN/NOTIFY</c>). Stores without it (SQLite) are polled only.
/// </summary>
internal interface IRevisionNotifications
{
    /// <summary>
    /// Listens until <paramref name="stop"/>, calling <paramref name="committed"/> for every revision committed by any
    /// process (with its number), and once more every time the listening connection is (re)established, since commits
    /// made while it was down were not heard. A lost connection is retried with back-off; it never throws but on stop.
    /// </summary>
    Task ListenAsync(Action<long> committed, StoreHealth health, CancellationToken stop);
}

/// <summary>
/// A store that can say at once when any process sharing it committed a consumer change (portal accounts, applications and
/// keys: PostgreSQL's <c>LISTEN/NOTIFY</c>). Stores without it (SQLite) are polled only.
/// </summary>
internal interface IConsumerNotifications
{
    /// <summary>As <see cref="IRevisionNotifications.ListenAsync"/>, for consumer changes (with their sequence numbers).</summary>
    Task ListenConsumersAsync(Action<long> changed, StoreHealth health, CancellationToken stop);
}
