using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Management.Tests.Registrations;

/// <summary>Several nodes on one PostgreSQL store: a registration taken by one node's admin API reaches every gateway (issue #5).</summary>
[Collection(PostgresCollection.Name)]
public sealed class RegistrationPostgresTests(PostgresCluster cluster)
{
    private const string Token = "ghr_users-registration-token";

    [Fact]
    public async Task Register_ThroughOneNode_TheOtherNodesGatewayRoutesToIt_AndDropsItWhenDeregistered()
    {
        var database = await cluster.CreateDatabaseAsync();
        await using var backend = await RegistrationNode.StartBackendAsync("a");
        await using var one = await RegistrationNode.StartAsync(database);
        await using var two = await RegistrationNode.StartAsync(database);
        await one.PutResourceAsync("/admin/services/users", $$$"""{"registration":{"tokenSha256":"{{{ApiKeyHash.Sha256Hex(Token)}}}"}}""");
        await one.PutResourceAsync("/admin/routes/x", """{"methods":["GET"],"path":"/x","service":"users"}""");
        // Node two serves the same revision, handed over here: how nodes follow each other's revisions is not under test.
        Assert.Empty(two.Gateway.Runtime.Apply((await Gatehouse.Management.Revisions.StoreConfig.LoadAsync(two.Store, Path.GetTempPath(), _ => null)).Result.Config!));
        var url = backend.Urls.First();

        using var client = one.AdminClient(Token);
        using var put = await client.PutAsync("/admin/services/users/registrations", RegistrationNode.Json($$"""{"url":"{{url}}"}"""));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());

        await Wait.UntilAsync(async () => (await two.AnswersAsync(2)).SetEquals(["a"]), "node two to route to the target registered through node one");

        using var deleted = await client.DeleteAsync($"/admin/services/users/registrations?url={Uri.EscapeDataString(url)}");
        Assert.True(deleted.IsSuccessStatusCode);
        Assert.Equal(["503"], await one.AnswersAsync(2));
        await Wait.UntilAsync(async () => (await two.AnswersAsync(2)).SetEquals(["503"]), "node two to drop the deregistered target");
    }
}
