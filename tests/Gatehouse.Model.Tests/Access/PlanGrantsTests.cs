using Gatehouse.Model.Access;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Access;

/// <summary>
/// <see cref="PlanGrants.Resolve"/>: include adds, omit removes, and an operation has one access class, so a rule
/// grants (or takes back) an operation only for the classes it names.
/// </summary>
public sealed class PlanGrantsTests
{
    private static PlanGrants Resolve(string plan)
    {
        var config = ConfigText.Valid(AccessDocs.WithPlan(plan));
        return PlanGrants.Resolve(config.Plans["retail"], config);
    }

    private static string Show(IReadOnlyDictionary<string, AccessFlags> grants) =>
        string.Join(", ", grants.OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Value}"));

    [Fact]
    public void TagWithReadAccess_GrantsOnlyItsReadOperations_NeverItsWrites()
    {
        var grants = Resolve("include: [ { tag: users, access: read } ]");

        Assert.Equal("users.getUser=Read", Show(grants.Operations));
        Assert.Empty(grants.Routes);
    }

    [Fact]
    public void TagWithWriteAccess_GrantsOnlyItsWriteOperations()
    {
        Assert.Equal("users.deleteUser=Write, users.updateUser=Write", Show(Resolve("include: [ { tag: users, access: write } ]").Operations));
    }

    [Fact]
    public void TagWithoutAccess_GrantsEachOperationWithItsOwnClass()
    {
        Assert.Equal("users.deleteUser=Write, users.getUser=Read, users.updateUser=Write", Show(Resolve("include: [ { tag: users } ]").Operations));
    }

    [Fact]
    public void DeclaredAccess_Counts_NotTheMethod()
    {
        // orders.search is a POST declared 'access: read'.
        Assert.Equal("orders.list=Read, orders.search=Read", Show(Resolve("include: [ { tag: orders, access: read } ]").Operations));
        Assert.Equal("orders.create=Write", Show(Resolve("include: [ { tag: orders, access: write } ]").Operations));
    }

    [Fact]
    public void OperationRule_WithTheOtherAccessClass_GrantsNothing()
    {
        var config = ConfigText.Valid(AccessDocs.WithPlan("include: [ { operation: users.updateUser, access: read }, { tag: admin } ]"));

        var grants = PlanGrants.Resolve(config.Plans["retail"], config);

        Assert.Equal("users.deleteUser=Write", Show(grants.Operations));
    }

    [Fact]
    public void Omit_RemovesWhatIncludeGranted()
    {
        Assert.Equal("users.getUser=Read, users.updateUser=Write", Show(Resolve("include: [ { tag: users } ]\nomit: [ { operation: users.deleteUser } ]").Operations));
    }

    [Fact]
    public void OmitWithWriteAccess_LeavesTheReads()
    {
        var grants = Resolve("include: [ { path: /** } ]\nomit: [ { tag: users, access: write }, { path: /orders/**, access: write } ]");

        Assert.Equal("orders.list=Read, orders.search=Read, users.getUser=Read", Show(grants.Operations));
        Assert.Equal("legacy=Read, Write", Show(grants.Routes));
    }

    [Fact]
    public void OmitWithReadAccess_OfAWriteOperation_RemovesNothing()
    {
        Assert.Equal("users.deleteUser=Write", Show(Resolve("include: [ { operation: users.deleteUser } ]\nomit: [ { operation: users.deleteUser, access: read } ]").Operations));
    }

    [Fact]
    public void Omit_WinsOverInclude_WhateverTheOrder()
    {
        var grants = Resolve("omit: [ { tag: admin } ]\ninclude: [ { tag: users }, { operation: users.deleteUser } ]");

        Assert.Equal("users.getUser=Read, users.updateUser=Write", Show(grants.Operations));
    }

    [Fact]
    public void PathRule_SelectsOperationsAndUnboundRoutesByTemplate()
    {
        var grants = Resolve("include: [ { path: /users/*, access: read }, { path: /legacy/** } ]");

        Assert.Equal("users.getUser=Read", Show(grants.Operations));
        Assert.Equal("legacy=Read, Write", Show(grants.Routes));
    }

    [Fact]
    public void RouteRule_GrantsTheRouteTheNamedClasses()
    {
        var grants = Resolve("include: [ { route: legacy, access: read } ]");

        Assert.Empty(grants.Operations);
        Assert.Equal("legacy=Read", Show(grants.Routes));
    }

    [Fact]
    public void NoInclude_GrantsNothing()
    {
        var config = ConfigText.Valid(AccessDocs.With("plans:\n  retail: {}\n"));

        var grants = PlanGrants.Resolve(config.Plans["retail"], config);

        Assert.Empty(grants.Operations);
        Assert.Empty(grants.Routes);
    }
}
