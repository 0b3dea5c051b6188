using Gatehouse.Model.Config;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Access;

/// <summary>Issue #3: plans, accounts, applications and keys bind from YAML, and malformed ones fail at their path.</summary>
public sealed class AccessBindingTests
{
    [Fact]
    public void FullDocument_BindsEveryField()
    {
        var config = ConfigText.Valid(AccessDocs.With($$"""
            gateway:
              apiKeys: { header: X-Key, queryParameter: key }
              authenticationMode: shadow
            plans:
              retail:
                title: Retail
                hidden: true
                mode: shadow
                include: [ { tag: users, access: read }, { operation: orders.create, access: [read, write] }, { path: /orders/** }, { route: legacy, access: write } ]
                omit: [ { operation: users.deleteUser } ]
                limits: [ { requests: 3, per: minute }, { requests: 100, per: day, mode: shadow } ]
                operationLimits: { users.getUser: [ { requests: 1, per: second } ] }
              catalogue: { anonymous: true, include: [ { operation: orders.list } ] }
              wholesale: { approvalRequired: true, include: [ { tag: orders } ] }
            applications:
              acme-shop:
                account: acme
                plan: retail
                state: suspended
                keys: [ { sha256: {{AccessDocs.HashA}}, prefix: ghk_1a2b, expires: 2027-01-01T00:00:00Z } ]
                clientIds: [acme-client, acme-web]
              acme-b2b: { account: acme, plan: wholesale, keys: [ { sha256: {{AccessDocs.HashB}} } ] }
            """, accounts: false) + "accounts:\n  acme: { title: ACME, email: api@acme.test }\n");

        Assert.Equal("X-Key", config.Gateway.ApiKeys.Header);
        Assert.Equal("key", config.Gateway.ApiKeys.QueryParameter);
        Assert.Equal(EnforcementMode.Shadow, config.Gateway.AuthenticationMode);

        var retail = config.Plans["retail"];
        Assert.Equal("Retail", retail.Title);
        Assert.True(retail.Hidden);
        Assert.False(retail.Anonymous);
        Assert.Equal(EnforcementMode.Shadow, retail.Mode);
        Assert.Equal(4, retail.Include.Count);
        Assert.Equal("users", retail.Include[0].Tag);
        Assert.Equal([OperationAccess.Read], retail.Include[0].Access);
        Assert.Equal("orders.create", retail.Include[1].Operation);
        Assert.Equal([OperationAccess.Read, OperationAccess.Write], retail.Include[1].Access);
        Assert.Equal("/orders/**", retail.Include[2].Path);
        Assert.Equal([OperationAccess.Read, OperationAccess.Write], retail.Include[2].Access);
        Assert.Equal("legacy", retail.Include[3].Route);
        Assert.Equal([OperationAccess.Write], retail.Include[3].Access);
        Assert.Equal("users.deleteUser", Assert.Single(retail.Omit).Operation);
        Assert.Equal([new LimitConfig { Requests = 3, Per = LimitPeriod.Minute }, new LimitConfig { Requests = 100, Per = LimitPeriod.Day, Mode = LimitMode.Shadow }], retail.Limits);
        Assert.Equal([new LimitConfig { Requests = 1, Per = LimitPeriod.Second }], retail.OperationLimits["users.getUser"]);
        Assert.True(config.Plans["catalogue"].Anonymous);
        Assert.True(config.Plans["wholesale"].ApprovalRequired);
        Assert.Equal(EnforcementMode.Enforce, config.Plans["wholesale"].Mode);

        Assert.Equal("ACME", config.Accounts["acme"].Title);
        Assert.Equal("api@acme.test", config.Accounts["acme"].Email);

        var shop = config.Applications["acme-shop"];
        Assert.Equal(("acme", "retail", ApplicationState.Suspended), (shop.Account, shop.Plan, shop.State));
        var key = Assert.Single(shop.Keys);
        Assert.Equal(AccessDocs.HashA, key.Sha256);
        Assert.Equal("ghk_1a2b", key.Prefix);
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), key.Expires);
        Assert.Equal(["acme-client", "acme-web"], shop.ClientIds);
        var b2b = config.Applications["acme-b2b"];
        Assert.Equal(ApplicationState.Live, b2b.State);
        Assert.Null(Assert.Single(b2b.Keys).Expires);
        Assert.Empty(b2b.ClientIds);
    }

    [Fact]
    public void Defaults_WhenNotWritten()
    {
        var config = ConfigText.Valid(AccessDocs.With("plans:\n  retail: { include: [ { tag: users } ] }\n"));

        Assert.Equal("X-Api-Key", config.Gateway.ApiKeys.Header);
        Assert.Equal("api_key", config.Gateway.ApiKeys.QueryParameter);
        Assert.Equal(EnforcementMode.Enforce, config.Gateway.AuthenticationMode);
        var retail = config.Plans["retail"];
        Assert.Equal((false, false, false, EnforcementMode.Enforce), (retail.Anonymous, retail.ApprovalRequired, retail.Hidden, retail.Mode));
        Assert.Empty(retail.Omit);
        Assert.Empty(retail.Limits);
        Assert.Empty(retail.OperationLimits);
    }

    [Theory]
    [InlineData("include: [ { tag: users, operation: users.getUser } ]", "plans.retail.include[0]", "one selector")]
    [InlineData("include: [ { access: read } ]", "plans.retail.include[0]", "'operation', 'tag', 'path' or 'route'")]
    [InlineData("include: [ { tag: users, access: delete } ]", "plans.retail.include[0].access", "'delete' is not an access class")]
    [InlineData("include: [ { tag: \"\" } ]", "plans.retail.include[0].tag", "must not be empty")]
    [InlineData("include: [ { tag: users, colour: red } ]", "plans.retail.include[0].colour", "colour")]
    [InlineData("include: [ { tag: users } ]\nmode: loud", "plans.retail.mode", "loud")]
    [InlineData("include: [ { tag: users } ]\nanonymus: true", "plans.retail.anonymus", "anonymous")]
    [InlineData("include: [ { tag: users } ]\nlimits: [ { requests: 0, per: minute } ]", "plans.retail.limits[0].requests", "at least 1")]
    public void MalformedPlan_IsAnErrorAtItsPath(string plan, string path, string inMessage)
    {
        var error = ConfigText.SingleError(AccessDocs.WithPlan(plan), path);

        Assert.Contains(inMessage, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shop: { plan: retail }", "applications.shop.account", "'account' is required")]
    [InlineData("shop: { account: acme }", "applications.shop.plan", "'plan' is required")]
    [InlineData("shop: { account: \"\", plan: retail }", "applications.shop.account", "must not be empty")]
    [InlineData("shop: { account: acme, plan: retail, state: paused }", "applications.shop.state", "paused")]
    [InlineData("shop: { account: acme, plan: retail, keys: [ { prefix: ghk_1 } ] }", "applications.shop.keys[0].sha256", "'sha256' is required")]
    [InlineData("shop: { account: acme, plan: retail, keys: [ { sha256: " + AccessDocs.HashA + ", expires: soon } ] }", "applications.shop.keys[0].expires", "found 'soon'")]
    [InlineData("shop: { account: acme, plan: retail, secret: x }", "applications.shop.secret", "secret")]
    public void MalformedApplication_IsAnErrorAtItsPath(string applications, string path, string inMessage)
    {
        var error = ConfigText.SingleError(AccessDocs.WithApplications(applications), path);

        Assert.Contains(inMessage, error.Message, StringComparison.Ordinal);
    }
}
