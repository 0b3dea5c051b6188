using Gatehouse.Model.Operations;

namespace Gatehouse.Model.Tests.Operations;

public sealed class OperationIdTests
{
    [Theory]
    [InlineData("users", "GET", "/users/{id}", "users.getUsersById")]
    [InlineData("users", "GET", "/users", "users.getUsers")]
    [InlineData("users", "DELETE", "/users/{id}", "users.deleteUsersById")]
    [InlineData("orders", "POST", "/order-items", "orders.postOrderItems")]
    [InlineData("orders", "GET", "/users/{userId}/orders/{order_id}", "orders.getUsersByUserIdOrdersByOrderId")]
    [InlineData("files", "PUT", "/v1.2/files/{**path}", "files.putV12FilesByPath")]
    [InlineData("shop", "GET", "/", "shop.get")]
    [InlineData("shop", "GET", "/camelCase/already", "shop.getCamelCaseAlready")]
    public void Derive_MethodAndPath_GiveThePascalCaseId(string service, string method, string path, string expected)
    {
        Assert.Equal(expected, OperationIds.Derive(service, method, path));
    }

    [Fact]
    public void Derive_FromAnImportedDocumentWithoutOperationIds_IsDeterministic()
    {
        Assert.Equal(OperationIds.Derive("a", "PATCH", "/x/{y}"), OperationIds.Derive("a", "patch", "/x/{y}"));
    }

    [Theory]
    [InlineData("users.getUser", true)]
    [InlineData("get_user-2", true)]
    [InlineData("Get User", false)]
    [InlineData("users/get", false)]
    [InlineData(".hidden", false)]
    [InlineData("", false)]
    public void IsValid_FollowsTheNameRule(string id, bool valid)
    {
        Assert.Equal(valid, OperationIds.IsValid(id));
    }
}
