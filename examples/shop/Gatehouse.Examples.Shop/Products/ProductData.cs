using System.Collections.Frozen;

namespace Gatehouse.Examples.Shop.Products;

/// <summary>The fixed catalogue: products 1 to 20.</summary>
internal static class ProductData
{
    public static IReadOnlyList<Product> All { get; } =
    [
        new(1, "Espresso beans, 1 kg", 24.90m, "EUR"),
        new(2, "Filter coffee, 500 g", 11.50m, "EUR"),
        new(3, "Ceramic mug", 9.00m, "EUR"),
        new(4, "Travel mug", 19.95m, "EUR"),
        new(5, "Hand grinder", 59.00m, "EUR"),
        new(6, "Pour-over dripper", 22.00m, "EUR"),
        new(7, "Paper filters, 100", 4.50m, "EUR"),
        new(8, "Gooseneck kettle", 45.00m, "EUR"),
        new(9, "Milk frother", 29.99m, "EUR"),
        new(10, "Espresso tamper", 17.50m, "EUR"),
        new(11, "Kitchen scale", 27.00m, "EUR"),
        new(12, "French press", 32.00m, "EUR"),
        new(13, "Cold brew bottle", 26.50m, "EUR"),
        new(14, "Green tea, 100 g", 8.90m, "EUR"),
        new(15, "Black tea, 250 g", 12.40m, "EUR"),
        new(16, "Teapot", 38.00m, "EUR"),
        new(17, "Tea strainer", 6.20m, "EUR"),
        new(18, "Biscotti, 200 g", 5.80m, "EUR"),
        new(19, "Dark chocolate, 100 g", 3.95m, "EUR"),
        new(20, "Gift card", 25.00m, "EUR"),
    ];

    public static FrozenDictionary<int, Product> ById { get; } = All.ToFrozenDictionary(p => p.Id);
}
