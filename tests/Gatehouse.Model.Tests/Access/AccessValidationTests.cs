using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Access;

/// <summary>Issue #3: every validation error of plans, accounts, applications and keys, at its exact path, with how to fix it.</summary>
public sealed class AccessValidationTests
{
    [Fact]
    public void UnknownOperation_InInclude_SuggestsTheClosest()
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan("include: [ { operation: users.getUsr } ]"), "plans.retail.include[0].operation");

        Assert.Equal("there is no operation 'users.getUsr'. Did you mean 'users.getUser'?", error.Message);
    }

    [Fact]
    public void UnknownOperation_InOmit_IsAnErrorToo()
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan("include: [ { tag: users } ]\nomit: [ { operation: users.deleteUsers } ]"), "plans.retail.omit[0].operation");

        Assert.Contains("Did you mean 'users.deleteUser'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tag_MatchingNothing_IsAnError()
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan("include: [ { tag: user } ]"), "plans.retail.include[0].tag");

        Assert.Equal("no operation has tag 'user'; check the spelling, or remove the rule.", error.Message);
    }

    [Fact]
    public void PathPattern_MatchingNothing_IsAnError()
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan("include: [ { path: /invoices/** } ]"), "plans.retail.include[0].path");

        Assert.Equal("'/invoices/**' matches no operation or route path; check the spelling, or remove the rule.", error.Message);
    }

    [Theory]
    [InlineData("orders/**", "must start with '/'")]
    [InlineData("/ord*", "mixes '*' with other characters")]
    public void PathPattern_Malformed_IsAnError(string pattern, string inMessage)
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan($"include: [ {{ path: \"{pattern}\" }} ]"), "plans.retail.include[0].path");

        Assert.Contains(inMessage, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Route_BoundToAnOperation_SaysToGrantTheOperation()
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan("include: [ { route: getUser } ]"), "plans.retail.include[0].route");

        Assert.Equal("route 'getUser' serves operation 'users.getUser'; grant '{ operation: users.getUser }' instead.", error.Message);
    }

    [Fact]
    public void Route_Unknown_SuggestsTheClosest()
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan("include: [ { route: legasy } ]"), "plans.retail.include[0].route");

        Assert.Equal("there is no route 'legasy'. Did you mean 'legacy'?", error.Message);
    }

    [Fact]
    public void TwoAnonymousPlans_IsAnErrorOnTheSecond()
    {
        var error = ConfigText.SingleError(AccessDocs.With("""
            plans:
              public: { anonymous: true, include: [ { operation: orders.list } ] }
              open: { anonymous: true, include: [ { operation: users.getUser } ] }
            """), "plans.open.anonymous");

        Assert.Contains("'public' already is", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnonymousPlan_WithApprovalRequired_IsAnError()
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan("anonymous: true\napprovalRequired: true\ninclude: [ { tag: users } ]"), "plans.retail.approvalRequired");

        Assert.Contains("an anonymous plan has no subscribers to approve", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OperationLimits_ForAnOperationThePlanDoesNotGrant_IsAnError()
    {
        var error = ConfigText.SingleError(
            AccessDocs.WithPlan("include: [ { tag: users, access: read } ]\noperationLimits: { users.updateUser: [ { requests: 1, per: second } ] }"),
            "plans.retail.operationLimits.users.updateUser");

        Assert.Contains("plan 'retail' does not grant 'users.updateUser'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OperationLimits_ForAnUnknownOperation_SuggestsTheClosest()
    {
        var error = ConfigText.SingleError(
            AccessDocs.WithPlan("include: [ { tag: users } ]\noperationLimits: { users.getUsers: [ { requests: 1, per: second } ] }"),
            "plans.retail.operationLimits.users.getUsers");

        Assert.Equal("there is no operation 'users.getUsers'. Did you mean 'users.getUser'?", error.Message);
    }

    [Fact]
    public void Application_OnUnknownPlan_SuggestsTheClosest()
    {
        var error = ConfigText.SingleError(AccessDocs.WithApplications("shop: { account: acme, plan: retial }"), "applications.shop.plan");

        Assert.Equal("there is no plan 'retial'. Did you mean 'retail'?", error.Message);
    }

    [Fact]
    public void Application_OnUnknownAccount_SaysToAddIt()
    {
        var error = ConfigText.SingleError(AccessDocs.WithApplications("shop: { account: acm, plan: retail }"), "applications.shop.account");

        Assert.Equal("there is no account 'acm'; add it under 'accounts'. Did you mean 'acme'?", error.Message);
    }

    [Fact]
    public void Application_OnTheAnonymousPlan_IsAnError()
    {
        var error = ConfigText.SingleError(
            AccessDocs.WithApplications("shop: { account: acme, plan: catalogue }", "  catalogue: { anonymous: true, include: [ { operation: orders.list } ] }\n"),
            "applications.shop.plan");

        Assert.Contains("plan 'catalogue' is the anonymous plan", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ghk_thisIsTheKeyItselfNotItsHash")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("gaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void KeyHash_NotLowerCaseHexSha256_IsAnError(string hash)
    {
        var error = ConfigText.SingleError(AccessDocs.WithApplications($"shop: {{ account: acme, plan: retail, keys: [ {{ sha256: {hash} }} ] }}"), "applications.shop.keys[0].sha256");

        Assert.Contains("64 lower-case hex characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SameKey_OnTwoApplications_IsAnErrorOnTheSecond()
    {
        var error = ConfigText.SingleError(AccessDocs.WithApplications($$"""
            shop: { account: acme, plan: retail, keys: [ { sha256: {{AccessDocs.HashA}} } ] }
            web: { account: acme, plan: retail, keys: [ { sha256: {{AccessDocs.HashB}} }, { sha256: {{AccessDocs.HashA}} } ] }
            """), "applications.web.keys[1].sha256");

        Assert.Contains("already belongs to application 'shop'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SameClientId_OnTwoApplications_IsAnErrorOnTheSecond()
    {
        var error = ConfigText.SingleError(AccessDocs.WithApplications("""
            shop: { account: acme, plan: retail, clientIds: [shop-client] }
            web: { account: acme, plan: retail, clientIds: [web-client, shop-client] }
            """), "applications.web.clientIds[1]");

        Assert.Equal("client id 'shop-client' already identifies application 'shop'; a token must map to one application.", error.Message);
    }

    [Fact]
    public void DefaultClientId_CollidingWithAnotherApplicationsClientId_IsAnError()
    {
        // Without clientIds an application's id is its client id, so 'web' is taken by the first application.
        var error = ConfigText.SingleError(AccessDocs.WithApplications("""
            shop: { account: acme, plan: retail, clientIds: [web] }
            web: { account: acme, plan: retail }
            """), "applications.web");

        Assert.Contains("already identifies application 'shop'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"X Api Key\"", "is not a header name")]
    [InlineData("\"X-Api-Key:\"", "is not a header name")]
    [InlineData("Authorization", "has another meaning")]
    [InlineData("gatehouse-application", "has another meaning")]
    [InlineData("Cookie", "has another meaning")]
    public void ApiKeysHeader_NotAHeaderOrReserved_IsAnError(string header, string inMessage)
    {
        var error = ConfigText.SingleError(AccessDocs.With($"gateway:\n  apiKeys: {{ header: {header} }}\n"), "gateway.apiKeys.header");

        Assert.Contains(inMessage, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ApiKeysQueryParameter_NeedingEncoding_IsAnError()
    {
        var error = ConfigText.SingleError(AccessDocs.With("gateway:\n  apiKeys: { queryParameter: \"api key\" }\n"), "gateway.apiKeys.queryParameter");

        Assert.Contains("needs no encoding", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SeveralMistakes_AreAllReportedAtOnce()
    {
        var result = ConfigText.Load(AccessDocs.With("""
            plans:
              retail: { include: [ { tag: user }, { operation: users.getUsr } ] }
            applications:
              shop: { account: nobody, plan: gold, keys: [ { sha256: nothex } ] }
            """));

        Assert.False(result.IsValid);
        Assert.Equal(
            ["applications.shop.account", "applications.shop.keys[0].sha256", "applications.shop.plan", "plans.retail.include[0].tag", "plans.retail.include[1].operation"],
            result.Errors.Select(e => e.Path).Order(StringComparer.Ordinal));
    }
}
