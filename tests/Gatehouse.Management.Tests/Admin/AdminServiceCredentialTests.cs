using System.Net;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>
/// A service credential through the store (issue #4, item 6): revisions, reads and exports hold the variable's name;
/// the node loading the config reads the secret, and refuses the change where the variable is not set.
/// </summary>
public sealed class AdminServiceCredentialTests
{
    private const string Secret = "s3cr3t-orders-token";

    private const string Orders = """
        {"targets": ["http://127.0.0.1:5001"], "credential": {"prefix": "Bearer ", "env": "ORDERS_TOKEN"}}
        """;

    [Fact]
    public async Task Credential_IsStoredAndExportedByName_AndTheLoadedConfigHasTheSecret()
    {
        await using var admin = await AdminHarness.StartAsync(environment: name => name == "ORDERS_TOKEN" ? Secret : null);

        await admin.PutOkAsync("/admin/services/orders", Orders);

        Assert.Equal("Bearer " + Secret, admin.Applied[^1].Services["orders"].Credential!.Value);

        // A later change binds only what changed; the service (and its secret) carries over.
        await admin.PutOkAsync("/admin/routes/orders", """{"path": "/orders", "service": "orders"}""");
        Assert.Equal(2, admin.Applied.Count);
        Assert.Equal("Bearer " + Secret, admin.Applied[^1].Services["orders"].Credential!.Value);
        foreach (var path in new[] { "/admin/services/orders", "/admin/config", "/admin/revisions/1", "/admin/audit" })
        {
            var text = await admin.Client.GetStringAsync(path);
            Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
            Assert.Contains("ORDERS_TOKEN", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Credential_WhoseVariableIsNotSetOnTheNode_Is422AtItsPath_AndNothingIsCommitted()
    {
        await using var admin = await AdminHarness.StartAsync();

        using var response = await admin.PutAsync("/admin/services/orders", Orders);

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var problem = await AdminHarness.ReadObjectAsync(response);
        Assert.Contains("services.orders.credential.env", problem.ToJsonString(), StringComparison.Ordinal);
        Assert.Empty(admin.Applied);
        using var missing = await admin.Client.GetAsync("/admin/services/orders");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
