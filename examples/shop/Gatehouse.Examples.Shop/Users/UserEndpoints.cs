using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Examples.Shop.Users;

/// <summary>The users service's HTTP API.</summary>
internal static class UserEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        var users = routes.MapGroup("/users").WithTags("users");

        users.MapGet("/", () => TypedResults.Ok(UserData.All))
            .WithName("users.listUsers")
            .WithSummary("List all users");

        users.MapGet("/{id:int}", GetUser)
            .WithName("users.getUser")
            .WithSummary("Get one user")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static Results<Ok<User>, ProblemHttpResult> GetUser(int id) =>
        UserData.ById.TryGetValue(id, out var user)
            ? TypedResults.Ok(user)
            : TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "User not found",
                detail: $"There is no user with id {id}. GET /users lists the users that exist.");
}
