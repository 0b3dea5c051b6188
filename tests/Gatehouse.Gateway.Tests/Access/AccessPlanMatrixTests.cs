using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue #3, "plans × operations × methods": every credential (one live application per plan, and none) against
/// every operation with its method, through a real gateway to a real backend. The expectation is the table below,
/// written by hand from what the plans say, not computed by the code under test.
/// </summary>
public sealed class AccessPlanMatrixTests
{
    // What each caller may call. "anonymous" is a request without a credential, served by the catalogue plan.
    private static readonly Dictionary<string, string[]> Granted = new()
    {
        // retail: { tag: users/products/orders, access: read } → the GET operations, and products.search (a POST declared read).
        ["retail"] = ["users.getUser", "products.list", "products.search", "orders.getOrder"],
        // wholesale: { tag: orders } with read and write → every orders operation, nothing else.
        ["wholesale"] = ["orders.getOrder", "orders.createOrder", "orders.patchOrder", "orders.cancelOrder"],
        // internal: { path: /** } → everything.
        ["internal"] =
        [
            "users.getUser", "users.updateUser", "users.deleteUser", "products.list", "products.create", "products.search",
            "orders.getOrder", "orders.createOrder", "orders.patchOrder", "orders.cancelOrder",
        ],
        // catalogue (anonymous): { tag: products, access: read }.
        ["anonymous"] = ["products.list", "products.search"],
    };

    [Fact]
    public void Table_CoversEveryOperation_AndNamesOnlyRealOnes()
    {
        var ids = AccessKit.Operations.Select(o => o.Id).ToHashSet();
        Assert.Equal(10, ids.Count);
        Assert.All(Granted.Values.SelectMany(v => v), id => Assert.Contains(id, ids));
        Assert.Equal(ids.Order(), Granted["internal"].Order());
    }

    [Fact]
    public async Task EveryPlanAndOperation_AllowedCellsReachTheBackend_DeniedCellsGet403Or401()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var keys = new Dictionary<string, TestKey> { ["retail"] = TestKey.New(), ["wholesale"] = TestKey.New(), ["internal"] = TestKey.New() };
        var yaml = "version: 1\n" + AccessKit.ServicesAndRoutes(backend.Url) + """
            plans:
              retail:
                include: [ { tag: users, access: read }, { tag: products, access: read }, { tag: orders, access: read } ]
              wholesale:
                include: [ { tag: orders, access: [read, write] } ]
              internal:
                include: [ { path: /** } ]
              catalogue:
                anonymous: true
                include: [ { tag: products, access: read } ]
            accounts: { acme: {} }
            applications:

            """ + string.Concat(keys.Select(k => AccessKit.Application($"{k.Key}-app", k.Key, k.Value)));
        await using var gateway = await TestGateway.StartAsync(yaml);

        var wrong = new List<string>();
        var cells = 0;
        foreach (var caller in Granted.Keys)
        {
            var key = keys.GetValueOrDefault(caller)?.Plaintext;
            foreach (var op in AccessKit.Operations)
            {
                cells++;
                var sent = await AccessKit.SendAsync(gateway.Client, op.Method, op.RequestPath, key);
                var allowed = Granted[caller].Contains(op.Id);
                var expected = allowed ? 200 : caller == "anonymous" ? 401 : 403;
                var cell = $"{caller} × {op.Id} ({op.Method} {op.RequestPath})";
                if (sent.Status != expected)
                {
                    wrong.Add($"{cell}: expected {expected}, got {sent.Status} {sent.Body}");
                    continue;
                }

                if (allowed)
                {
                    var seen = sent.Upstream!;
                    var (plan, app) = caller == "anonymous" ? ("catalogue", null) : (caller, $"{caller}-app");
                    if (seen.Method != op.Method || seen.RawTarget != op.RequestPath || seen.Header("Gatehouse-Plan") != plan || seen.Header("Gatehouse-Application") != app)
                    {
                        wrong.Add($"{cell}: upstream saw {seen.Method} {seen.RawTarget}, plan {seen.Header("Gatehouse-Plan")}, application {seen.Header("Gatehouse-Application")}");
                    }
                }
                else if (!sent.Body.Contains(op.Id, StringComparison.Ordinal) && expected == 403)
                {
                    wrong.Add($"{cell}: the 403 does not name the operation: {sent.Body}");
                }
            }
        }

        Assert.Equal(40, cells);
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }
}
