using Gatehouse.Gateway.Routing;
using Gatehouse.Model.Routing;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Routing;

/// <summary>
/// <see cref="RouteTable.MatchPinned"/>, which in-process MCP tool calls use (issue 22): the pinned route alone, with the
/// trie's rules for the path (empty segments and a trailing slash ignored, literals in any case), whatever other route,
/// host or match condition the table has.
/// </summary>
public sealed class PinnedMatchTests
{
    private static readonly RouteTable Table = RouteTable.Build(
    [
        Route("get", "users.getUser", "GET", "/users/{id}"),
        Route("me", "users.me", "GET", "/users/me"),
        Route("hosted", "users.hosted", "GET", "/hosted/{id}", host: "api.example.test"),
        Route("versioned", "users.versioned", "GET", "/versioned/{id}", conditions: new() { Headers = new Dictionary<string, string> { ["X-Api-Version"] = "2" } }),
        Route("files", "files.read", "GET", "/files/{**rest}"),
    ]);

    [Theory]
    [InlineData("/users/me", "me")]
    [InlineData("/USERS/me/", "me")]
    [InlineData("//users//42", "42")]
    public void Pinned_PathFitsTheTemplate_TheRouteWithTheParameter(string path, string id)
    {
        var captures = default(RouteCaptures);

        var outcome = Table.MatchPinned(new RoutePin("users.getUser", "GET", "/users/{id}"), path, out var route, ref captures);

        Assert.Equal(MatchOutcome.Matched, outcome);
        Assert.Equal("get", route!.Id);
        Assert.Equal(1, captures.Count);
        Assert.Equal(id, path[captures[0]]);
    }

    [Theory]
    [InlineData("/users")]
    [InlineData("/users/me/x")]
    [InlineData("/people/me")]
    public void Pinned_PathDoesNotFit_NoRoute(string path)
    {
        var captures = default(RouteCaptures);

        Assert.Equal(MatchOutcome.NoRoute, Table.MatchPinned(new RoutePin("users.getUser", "GET", "/users/{id}"), path, out _, ref captures));
    }

    [Theory]
    [InlineData("users.getUser", "DELETE", "/users/{id}")] // the route does not take the method
    [InlineData("users.getUser", "GET", "/people/{id}")] // a template the revision no longer has
    [InlineData("users.gone", "GET", "/users/{id}")]
    public void Pinned_NoSuchRoute_NoRoute(string operation, string method, string template)
    {
        var captures = default(RouteCaptures);

        Assert.Equal(MatchOutcome.NoRoute, Table.MatchPinned(new RoutePin(operation, method, template), "/users/7", out _, ref captures));
    }

    [Theory]
    [InlineData("users.hosted", "/hosted/{id}", "/hosted/7")]
    [InlineData("users.versioned", "/versioned/{id}", "/versioned/7")]
    public void Pinned_HostOrMatchCondition_IgnoredForTheChosenRoute(string operation, string template, string path)
    {
        var captures = default(RouteCaptures);

        Assert.Equal(MatchOutcome.Matched, Table.MatchPinned(new RoutePin(operation, "GET", template), path, out var route, ref captures));
        Assert.Equal(operation, route!.OperationId);
    }

    [Theory]
    [InlineData("/files/a/b", "a/b")]
    [InlineData("/files", "")]
    public void Pinned_CatchAll_TakesTheRest(string path, string rest)
    {
        var captures = default(RouteCaptures);

        Assert.Equal(MatchOutcome.Matched, Table.MatchPinned(new RoutePin("files.read", "GET", "/files/{**rest}"), path, out _, ref captures));
        Assert.Equal(rest, path[captures[0]]);
    }

    private static (PathTemplate, RouteModel) Route(string id, string operation, string method, string template, string? host = null, Model.Config.RouteMatchConfig? conditions = null)
    {
        var path = PathTemplate.TryParse(template, out _)!;
        return (path, new RouteModel(id, operation, [HttpMethods.GetCanonicalizedValue(method)], host, null, UpstreamPathTemplate.Create(path, [.. path.ParameterNames]), TimeSpan.FromSeconds(1))
        {
            Template = template,
            Conditions = RouteConditions.From(conditions),
        });
    }
}
