using Gatehouse.Model.Access;

namespace Gatehouse.Model.Tests.Access;

/// <summary>The path patterns of plan grants, matched against path templates.</summary>
public sealed class PathPatternTests
{
    [Theory]
    [InlineData("/orders", "/orders", true)]
    [InlineData("/orders", "/Orders", true)]
    [InlineData("/orders", "/orders/", true)]
    [InlineData("/orders", "/orders/{id}", false)]
    [InlineData("/orders", "/order", false)]
    [InlineData("/orders/*", "/orders/{id}", true)]
    [InlineData("/orders/*", "/orders/search", true)]
    [InlineData("/orders/*", "/orders", false)]
    [InlineData("/orders/*", "/orders/{id}/items", false)]
    [InlineData("/orders/**", "/orders", true)]
    [InlineData("/orders/**", "/orders/{id}", true)]
    [InlineData("/orders/**", "/orders/{id}/items/{item}", true)]
    [InlineData("/orders/**", "/ordersx", false)]
    [InlineData("/orders/**", "/users/{id}/orders", false)]
    [InlineData("/**", "/", true)]
    [InlineData("/**", "/anything/at/all", true)]
    [InlineData("/**/items", "/orders/{id}/items", true)]
    [InlineData("/**/items", "/items", true)]
    [InlineData("/**/items", "/orders/{id}/items/{item}", false)]
    [InlineData("/*/{id}", "/orders/{orderId}", true)]
    [InlineData("/orders/{id}", "/orders/{orderId}", true)]
    [InlineData("/orders/{id}", "/orders/search", false)]
    [InlineData("/orders/{id}", "/orders/{id}/items", false)]
    [InlineData("/legacy/**", "/legacy/{**rest}", true)]
    public void Matches(string pattern, string template, bool expected)
    {
        Assert.Equal(expected, PathPattern.Matches(pattern, template));
    }

    [Theory]
    [InlineData("/orders/**", null)]
    [InlineData("/*/items", null)]
    [InlineData("/", null)]
    [InlineData("orders/**", "'orders/**' must start with '/', e.g. '/orders/**'.")]
    [InlineData("/orders*", "'orders*' mixes '*' with other characters; '*' and '**' stand for whole segments.")]
    [InlineData("/orders/***", "'***' mixes '*' with other characters; '*' and '**' stand for whole segments.")]
    public void Check(string pattern, string? problem)
    {
        Assert.Equal(problem, PathPattern.Check(pattern));
    }
}
