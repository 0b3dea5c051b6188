namespace Gatehouse.Examples.Shop;

/// <summary>The demo shop's three services.</summary>
public static class ShopServices
{
}
