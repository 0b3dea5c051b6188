using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>Create, read, replace, delete and ETags through the admin API; run on SQLite and on PostgreSQL.</summary>
public abstract class AdminCrudTests
{
    private const string Service = """{"targets":["http://127.0.0.1:5101"]}""";

    /// <summary>A store connection string for a fresh store; null for a SQLite file in the harness's temp folder.</summary>
    private protected abstract Task<string?> CreateStoreAsync();

    [Fact]
    public async Task PutGetDelete_WithETags_RoundTripsAndHonoursIfMatch()
    {
        await using var admin = await AdminHarness.StartAsync(await CreateStoreAsync());

        using var created = await admin.PutAsync("/admin/services/users", Service);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var createdBody = await AdminHarness.ReadObjectAsync(created);
        Assert.Equal(1, (long)createdBody["revision"]!);
        var etag1 = created.Headers.ETag!.Tag;

        using var got = await admin.Client.GetAsync("/admin/services/users");
        Assert.Equal(HttpStatusCode.OK, got.StatusCode);
        Assert.Equal(Service, await got.Content.ReadAsStringAsync());
        Assert.Equal(etag1, got.Headers.ETag!.Tag);

        const string replaced = """{"targets":["http://127.0.0.1:5102"],"timeout":"5s"}""";
        using (var stale = await admin.PutAsync("/admin/services/users", replaced, "\"not-the-tag\""))
        {
            Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
            Assert.Equal("application/problem+json", stale.Content.Headers.ContentType!.MediaType);
        }

        using var updated = await admin.PutAsync("/admin/services/users", replaced, etag1);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(2, (long)(await AdminHarness.ReadObjectAsync(updated))["revision"]!);
        var etag2 = updated.Headers.ETag!.Tag;
        Assert.NotEqual(etag1, etag2);

        using (var list = await admin.Client.GetAsync("/admin/services"))
        {
            var items = (await AdminHarness.ReadObjectAsync(list))["items"]!.AsArray();
            var item = Assert.Single(items)!;
            Assert.Equal("users", (string)item["name"]!);
            Assert.Equal("http://127.0.0.1:5102", (string)item["body"]!["targets"]![0]!);
        }

        using (var staleDelete = new HttpRequestMessage(HttpMethod.Delete, "/admin/services/users"))
        {
            staleDelete.Headers.TryAddWithoutValidation("If-Match", etag1);
            using var refused = await admin.Client.SendAsync(staleDelete);
            Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        }

        using var delete = new HttpRequestMessage(HttpMethod.Delete, "/admin/services/users");
        delete.Headers.TryAddWithoutValidation("If-Match", "*");
        using var deleted = await admin.Client.SendAsync(delete);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal(3, (long)(await AdminHarness.ReadObjectAsync(deleted))["revision"]!);

        using var gone = await admin.Client.GetAsync("/admin/services/users");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal(3, admin.Applied.Count);
        Assert.Empty(admin.Applied[^1].Services);
    }

    [Fact]
    public async Task ConcurrentPuts_SameETag_ExactlyOneWinsAndNothingIsLost()
    {
        await using var admin = await AdminHarness.StartAsync(await CreateStoreAsync());
        using var created = await admin.PutAsync("/admin/services/users", Service);
        var etag = created.Headers.ETag!.Tag;

        var bodies = new[] { """{"targets":["http://127.0.0.1:6001"]}""", """{"targets":["http://127.0.0.1:6002"]}""" };
        var responses = await Task.WhenAll(bodies.Select(b => admin.PutAsync("/admin/services/users", b, etag)));

        var statuses = responses.Select(r => (int)r.StatusCode).Order().ToArray();
        Assert.Equal(new[] { 200, 412 }, statuses);
        var winner = bodies[Array.FindIndex(responses, r => r.StatusCode == HttpStatusCode.OK)];
        using var now = await admin.Client.GetAsync("/admin/services/users");
        Assert.Equal(winner, await now.Content.ReadAsStringAsync());
        Assert.Equal(2, await admin.Store.CurrentRevisionAsync());
        Assert.Equal(2, (await admin.Store.ListAuditAsync()).Count);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}

/// <summary>The CRUD and ETag tests on a SQLite file.</summary>
public sealed class SqliteAdminCrudTests : AdminCrudTests
{
    private protected override Task<string?> CreateStoreAsync() => Task.FromResult<string?>(null);
}

/// <summary>The CRUD and ETag tests on a real PostgreSQL server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresAdminCrudTests(PostgresCluster cluster) : AdminCrudTests
{
    private protected override async Task<string?> CreateStoreAsync() => await cluster.CreateDatabaseAsync();
}
