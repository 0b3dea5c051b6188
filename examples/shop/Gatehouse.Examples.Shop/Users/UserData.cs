using System.Collections.Frozen;

namespace Gatehouse.Examples.Shop.Users;

/// <summary>The fixed set of users. User 6 has no orders.</summary>
internal static class UserData
{
    public static IReadOnlyList<User> All { get; } =
    [
        new(1, "Ada Lovelace", "ada@example.com"),
        new(2, "Alan Turing", "alan@example.com"),
        new(3, "Grace Hopper", "grace@example.com"),
        new(4, "Edsger Dijkstra", "edsger@example.com"),
        new(5, "Barbara Liskov", "barbara@example.com"),
        new(6, "Margaret Hamilton", "margaret@example.com"),
    ];

    public static FrozenDictionary<int, User> ById { get; } = All.ToFrozenDictionary(u => u.Id);
}
