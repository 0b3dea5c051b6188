using System.Collections.Concurrent;

namespace Gatehouse.Examples.Shop.Orders;

/// <summary>The orders of one running orders service: the seeded ones plus those created since it started.</summary>
/// <remarks>Safe for concurrent requests. Nothing is persisted; a restarted service has only the seed again.</remarks>
internal sealed class OrderStore
{
    private readonly ConcurrentDictionary<int, Order> _orders;
    private readonly TimeProvider _time;
    private int _lastId;

    public OrderStore(TimeProvider time)
    {
        _time = time;
        _orders = new ConcurrentDictionary<int, Order>(OrderData.All.Select(o => KeyValuePair.Create(o.Id, o)));
        _lastId = OrderData.All.Max(o => o.Id);
    }

    /// <summary>All orders, or those of <paramref name="userId"/>, by id.</summary>
    public IReadOnlyList<Order> List(int? userId) =>
        _orders.Values
            .Where(o => userId is null || o.UserId == userId)
            .OrderBy(o => o.Id)
            .ToList();

    public Order? Find(int id) => _orders.GetValueOrDefault(id);

    public Order Add(int userId, IReadOnlyList<OrderItem> items)
    {
        var order = new Order(Interlocked.Increment(ref _lastId), userId, _time.GetUtcNow(), items);
        _orders[order.Id] = order;
        return order;
    }
}
