using Gatehouse.Examples.Shop.Orders;

namespace Gatehouse.Examples.Shop.Tests;

public sealed class OrderStoreTests
{
    [Fact]
    public void Add_FromManyThreads_GivesEveryOrderItsOwnIdAndKeepsThemAll()
    {
        var store = new OrderStore(TimeProvider.System);
        const int count = 100_000;

        var ids = new int[count];
        Parallel.For(0, count, i => ids[i] = store.Add(userId: 1, [new OrderItem(ProductId: 1, Quantity: 1)]).Id);

        Assert.Equal(count, ids.Distinct().Count());
        Assert.Equal(Enumerable.Range(13, count), ids.Order());
        Assert.Equal(12 + count, store.List(userId: null).Count);
    }

    [Fact]
    public void Add_Always_StampsTheCurrentUtcTime()
    {
        var now = new DateTimeOffset(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var store = new OrderStore(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(now));

        var order = store.Add(userId: 2, [new OrderItem(ProductId: 4, Quantity: 3)]);

        Assert.Equal(now, order.CreatedAt);
        Assert.Same(order, store.Find(order.Id));
    }
}
