using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Nodes;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;
using Gatehouse.Model.Nodes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Management.Tests.Nodes;

/// <summary>
/// The node API's consumer watch on PostgreSQL is woken by <c>NOTIFY gatehouse_consumers</c>: a hybrid node's long poll
/// for consumer batches gets a change made by another control plane at its commit, not at the watch's next poll.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Issue", "21")]
public sealed class NodeApiConsumerNotifyTests(PostgresCluster cluster) : IDisposable
{
    private const string Token = "ghn_consumer-notify-test";
    private const string Node = "edge-1";

    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-node-notify-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>
    /// With the watch's poll an hour apart, three applications are made one after another on another control plane's store,
    /// each while a long poll waits for the change after the one before, and each long poll answers that change. Without
    /// notifications the watch reads the store twice at most (at start, and once its listening connection is up), so
    /// three changes can only be heard by NOTIFY; the third long poll would end with 204 after its 30 s.
    /// </summary>
    [Fact]
    public async Task ALongPollForConsumers_IsAnsweredByTheChangesNotification_NotByThePoll()
    {
        var connection = await cluster.CreateDatabaseAsync();
        await using var store = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        await using var other = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        await store.SetNodeTokenAsync("edge", ApiKeyHash.Sha256Hex(Token), Node);
        using var signer = SnapshotSigner.LoadOrCreate(Path.Combine(_folder, "signing.pem"));
        using var pinned = ECDsa.Create();
        pinned.ImportFromPem(signer.PublicKeyPem);
        await using var api = await NodeApi.StartAsync(new NodeApiOptions
        {
            Url = "http://127.0.0.1:0",
            Store = store,
            Signer = signer,
            Health = new StoreHealth(NullLogger.Instance),
            ConsumerPollInterval = TimeSpan.FromHours(1),
            LongPoll = TimeSpan.FromSeconds(30),
        });
        using var client = new HttpClient { BaseAddress = new Uri(api.Url), Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", Token);
        client.DefaultRequestHeaders.Add(NodeApi.NodeHeader, Node);

        var now = DateTimeOffset.UtcNow;
        Assert.True(await other.InsertAccountAsync(new ConsumerAccount("acc-1", "ada@example.com", "Ada", "HASH", AccountState.Active, "stamp", now, 1), "test"));
        var seq = await other.NewestConsumerSeqAsync();
        for (var i = 1; i <= 3; i++)
        {
            var poll = client.GetAsync($"/node/v1/consumers?after={seq}");
            var application = new PortalApplication($"app-{i}", "acc-1", $"App {i}", "", "retail", ApplicationState.Live,
                [new ConsumerKey(new string((char)('a' + i), 64), "ghk_abcd", now, null)], now);
            var changed = await other.SaveApplicationAsync(application, 0, "test", "create");
            Assert.NotNull(changed);

            using var response = await poll;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var (batch, refusal) = ConsumerBatch.Verify(await response.Content.ReadAsByteArrayAsync(), pinned);
            Assert.Null(refusal);
            Assert.Equal(seq, batch!.After);
            Assert.Equal(changed, batch.Seq);
            Assert.Equal([application.Id], batch.Applications.Select(a => a.Id));
            Assert.Equal(changed.Value.ToString(CultureInfo.InvariantCulture), response.Headers.GetValues("Gatehouse-Consumer-Seq").Single());
            seq = changed.Value;
        }
    }
}
