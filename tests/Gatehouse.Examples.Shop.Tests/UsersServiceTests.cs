using System.Net;

namespace Gatehouse.Examples.Shop.Tests;

public sealed class UsersServiceTests(ShopFixture shop) : IClassFixture<ShopFixture>
{
    [Fact]
    public async Task ListUsers_Always_ReturnsTheSixSeededUsersInCamelCase()
    {
        var users = await shop.Users.GetJsonAsync("/users");

        Assert.Equal([1, 2, 3, 4, 5, 6], users.Ids());
        Assert.All(users.EnumerateArray(), u => Assert.Equal(["id", "name", "email"], u.PropertyNames()));
    }

    [Fact]
    public async Task GetUser_KnownId_ReturnsThatUser()
    {
        var user = await shop.Users.GetJsonAsync("/users/3");

        Assert.Equal(3, user.GetProperty("id").GetInt32());
        Assert.Equal("Grace Hopper", user.GetProperty("name").GetString());
        Assert.Equal("grace@example.com", user.GetProperty("email").GetString());
    }

    [Fact]
    public async Task GetUser_UnknownId_Returns404Problem()
    {
        var problem = await shop.Users.GetProblemAsync("/users/99", HttpStatusCode.NotFound);

        Assert.Contains("99", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetUser_IdNotANumber_Returns404Problem()
    {
        await shop.Users.GetProblemAsync("/users/ada", HttpStatusCode.NotFound);
    }
}
