using System.Net;
using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>Two control planes over one store: what one commits, the other serves without being told.</summary>
public sealed class AdminFollowTests
{
    [Fact]
    public async Task RevisionCommittedByAnotherControlPlane_IsLoadedAndAppliedHere()
    {
        await using var first = await AdminHarness.StartAsync();
        await using var second = await AdminHarness.StartAsync(connection: "sqlite:" + first.SqlitePath, followInterval: TimeSpan.FromMilliseconds(100));

        await first.PutOkAsync("/admin/services/users", """{"targets":["http://127.0.0.1:5101"]}""");
        await first.PutOkAsync("/admin/routes/users-get", """{"methods":["GET"],"path":"/users/{id}","service":"users"}""");

        await Wait.UntilAsync(() => Snapshot(second).Any(c => c.Routes.ContainsKey("users-get")), "the second control plane to serve the first one's route");
        var applied = Snapshot(second);
        Assert.DoesNotContain(applied, c => c.Routes.Count == 0 && c.Services.Count == 0);
        Assert.Equal("users", applied[^1].Routes["users-get"].Service);

        // Nothing newer: no further apply however long it waits.
        var count = applied.Count;
        await Task.Delay(500);
        Assert.Equal(count, Snapshot(second).Count);

        // The second one's own changes go the usual way, and the first one's list shows them.
        using var put = await second.Client.PutAsync("/admin/routes/users-head", new StringContent("""{"methods":["HEAD"],"path":"/users/{id}","service":"users"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        using var list = await first.Client.GetAsync("/admin/routes");
        Assert.Contains("users-head", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevisionThatDoesNotLoadHere_IsSkipped_TheLastGoodOneServes_AndTheNextGoodOneIsServed()
    {
        await using var first = await AdminHarness.StartAsync();
        await using var second = await AdminHarness.StartAsync(connection: "sqlite:" + first.SqlitePath, followInterval: TimeSpan.FromMilliseconds(100));
        await first.PutOkAsync("/admin/services/users", """{"targets":["http://127.0.0.1:5101"]}""");
        await Wait.UntilAsync(() => Snapshot(second).Any(c => c.Services.ContainsKey("users")), "the second control plane to serve revision 1");

        // An OpenAPI file that only the first node's folder holds: revision 2 loads there, not here.
        await File.WriteAllTextAsync(Path.Combine(first.BaseDirectory, "orders.yaml"), """
            openapi: 3.1.0
            info: { title: Orders, version: "1" }
            paths:
              /orders/{id}:
                get: { operationId: orders.getOrder }
            """);
        await first.PutOkAsync("/admin/services/orders", """{"targets":["http://127.0.0.1:5102"],"openapi":{"file":"orders.yaml"}}""");
        var served = Snapshot(second).Count;
        await Task.Delay(1000); // ten follow rounds
        Assert.Equal(served, Snapshot(second).Count);
        Assert.DoesNotContain(Snapshot(second), c => c.Services.ContainsKey("orders"));

        // Revision 3 loads everywhere again, and is served.
        using (var delete = await first.Client.DeleteAsync("/admin/services/orders"))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        await first.PutOkAsync("/admin/services/products", """{"targets":["http://127.0.0.1:5103"]}""");
        await Wait.UntilAsync(() => Snapshot(second).Any(c => c.Services.ContainsKey("products")), "the second control plane to serve the next good revision");
        Assert.False(Snapshot(second)[^1].Services.ContainsKey("orders"));
    }

    private static List<Model.Config.GatehouseConfig> Snapshot(AdminHarness harness)
    {
        lock (harness.Applied)
        {
            return [.. harness.Applied];
        }
    }
}
