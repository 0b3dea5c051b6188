namespace Gatehouse.Examples.Shop.Orders;

/// <summary>
/// The orders every orders service starts with: 1 to 12. Users 1 and 3 have three orders each, users 2, 4
/// and 5 two each, user 6 none. Every item names one of products 1 to 20.
/// </summary>
internal static class OrderData
{
    public static IReadOnlyList<Order> All { get; } =
    [
        new(1, 1, At(2025, 1, 6, 9, 15), [new(1, 1), new(3, 2)]),
        new(2, 1, At(2025, 1, 20, 14, 2), [new(7, 3)]),
        new(3, 1, At(2025, 2, 11, 8, 45), [new(5, 1), new(11, 1), new(19, 4)]),
        new(4, 2, At(2025, 1, 8, 17, 30), [new(12, 1), new(2, 2)]),
        new(5, 2, At(2025, 3, 2, 10, 0), [new(20, 1)]),
        new(6, 3, At(2025, 1, 15, 12, 20), [new(14, 2), new(16, 1), new(17, 1)]),
        new(7, 3, At(2025, 2, 3, 19, 5), [new(15, 1)]),
        new(8, 3, At(2025, 3, 14, 7, 55), [new(8, 1), new(6, 1), new(7, 2)]),
        new(9, 4, At(2025, 2, 7, 11, 40), [new(9, 1), new(4, 1)]),
        new(10, 4, At(2025, 3, 21, 16, 10), [new(1, 2), new(10, 1)]),
        new(11, 5, At(2025, 2, 25, 13, 30), [new(13, 1), new(18, 3)]),
        new(12, 5, At(2025, 3, 28, 9, 0), [new(3, 4)]),
    ];

    private static DateTimeOffset At(int year, int month, int day, int hour, int minute) =>
        new(year, month, day, hour, minute, 0, TimeSpan.Zero);
}
