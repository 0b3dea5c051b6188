using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Plans;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue #18: a plan's document (PlanProjection) and the gateway never disagree. For every plan and every operation, the
/// gateway lets a key of that plan through exactly when the projection lists the operation's public method and path.
/// </summary>
[Trait("Issue", "18")]
public sealed class PlanProjectionAgreementTests
{
    [Fact]
    public async Task EveryPlanAndOperation_GatewayAllowsExactlyWhatTheProjectionLists()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var keys = new Dictionary<string, TestKey> { ["reader"] = TestKey.New(), ["orders"] = TestKey.New(), ["mixed"] = TestKey.New() };
        var yaml = "version: 1\n" + AccessKit.ServicesAndRoutes(backend.Url) + """
            plans:
              reader: { include: [ { path: "/**", access: read } ] }
              orders: { include: [ { tag: orders } ], omit: [ { operation: orders.cancelOrder } ] }
              mixed: { include: [ { tag: users, access: write }, { operation: products.search }, { tag: products, access: read } ] }
            accounts: { acme: {} }
            applications:

            """ + string.Concat(keys.Select(k => AccessKit.Application("app-" + k.Key, k.Key, k.Value)));
        var config = TestGateway.Parse(yaml);
        await using var gateway = await TestGateway.StartAsync(config);

        foreach (var (plan, key) in keys)
        {
            var listed = PlanProjection.Of(plan, config).Select(o => (o.Method, o.Path)).ToHashSet();
            Assert.NotEmpty(listed);
            foreach (var op in AccessKit.Operations)
            {
                var sent = await AccessKit.SendAsync(gateway.Client, op.Method, op.RequestPath, key.Plaintext);
                Assert.True(listed.Contains((op.Method, op.Path)) == (sent.Status == 200), $"plan {plan}, {op.Id}: projection {(listed.Contains((op.Method, op.Path)) ? "lists" : "omits")} it, gateway answered {sent.Status}");
            }
        }
    }
}
