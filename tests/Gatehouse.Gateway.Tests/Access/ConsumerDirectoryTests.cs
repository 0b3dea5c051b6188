using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue #18, consumer data that scales: portal applications reach the live access model one at a time, without a
/// config revision, and survive (and follow) new revisions of the plans they are on.
/// </summary>
[Trait("Issue", "18")]
public sealed class ConsumerDirectoryTests
{
    private static string Yaml(string backendUrl, string retailInclude = "{ tag: users, access: read }") =>
        "version: 1\n" + AccessKit.ServicesAndRoutes(backendUrl) + $$"""
        plans:
          retail:
            include: [ {{retailInclude}} ]
          gold:
            approvalRequired: true
            include: [ { tag: users } ]
        """;

    private static ConsumerApplication App(string id, string plan, ApplicationState state, params TestKey[] keys) =>
        new(id, "acc-1", plan, state, [.. keys.Select(k => new ConsumerKey(k.Sha256, k.Plaintext[..8], DateTimeOffset.UnixEpoch, null))]);

    [Fact]
    public async Task PortalApplication_UpsertedWithoutARevision_IsServedAndIdentified()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));
        var key = TestKey.New();
        var revision = gateway.Host.Runtime.Current.Revision;

        Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext)).Status);
        gateway.Host.Runtime.Consumers.Upsert(App("app-one", "retail", ApplicationState.Live, key));

        var sent = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        Assert.Equal(200, sent.Status);
        Assert.Equal("app-one", sent.Upstream!.Header("Gatehouse-Application"));
        Assert.Equal("retail", sent.Upstream.Header("Gatehouse-Plan"));
        Assert.Equal(403, (await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42", key.Plaintext)).Status);
        Assert.Equal(revision, gateway.Host.Runtime.Current.Revision);
    }

    [Fact]
    public async Task PendingThenLive_Rotated_Removed_EachAnswerFollowsTheLastUpsert()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));
        var consumers = gateway.Host.Runtime.Consumers;
        var first = TestKey.New();
        var second = TestKey.New();

        consumers.Upsert(App("app-gold", "gold", ApplicationState.Pending, first));
        var pending = await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42", first.Plaintext);
        Assert.Equal(403, pending.Status);
        Assert.Contains("pending", pending.Detail, StringComparison.Ordinal);

        consumers.Upsert(App("app-gold", "gold", ApplicationState.Live, first));
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42", first.Plaintext)).Status);

        // Rotation without grace: the new key works and the old one is gone in the same change.
        consumers.Upsert(App("app-gold", "gold", ApplicationState.Live, second));
        Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", first.Plaintext)).Status);
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", second.Plaintext)).Status);

        consumers.Upsert(App("app-gold", "gold", ApplicationState.Suspended, second));
        Assert.Contains("suspended", (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", second.Plaintext)).Detail, StringComparison.Ordinal);

        consumers.Remove("app-gold");
        Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", second.Plaintext)).Status);
    }

    [Fact]
    public async Task NewRevision_ChangesThePlan_PortalApplicationsFollowIt_AndAreKept()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));
        var key = TestKey.New();
        gateway.Host.Runtime.Consumers.Upsert(App("app-one", "retail", ApplicationState.Live, key));
        Assert.Equal(403, (await AccessKit.SendAsync(gateway.Client, "GET", "/products", key.Plaintext)).Status);

        var errors = gateway.Host.Runtime.Apply(TestGateway.Parse(Yaml(backend.Url, "{ tag: users, access: read }, { tag: products, access: read }")));
        Assert.Empty(errors);

        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/products", key.Plaintext)).Status);
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext)).Status);

        // A revision without the plan leaves its applications unable to authenticate, not granted something else.
        var withoutRetail = Yaml(backend.Url).Replace("  retail:\n    include: [ { tag: users, access: read } ]\n", "", StringComparison.Ordinal);
        Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(withoutRetail)));
        Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext)).Status);
    }

    [Fact]
    [Trait("Issue", "21")]
    public async Task WholeSetReset_WhileServing_KeysInBothSetsNeverMiss_AndTheOldSetsOthersLeave()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));
        var directory = (global::Gatehouse.Gateway.Access.ConsumerDirectory)gateway.Host.Runtime.Consumers;
        var access = gateway.Host.Runtime.Current.Access!;
        var (kept, rotatedOut, rotatedIn, dropped, added) = (TestKey.New(), TestKey.New(), TestKey.New(), TestKey.New(), TestKey.New());
        directory.Upsert(App("app-kept", "retail", ApplicationState.Live, kept, rotatedOut));
        directory.Upsert(App("app-dropped", "retail", ApplicationState.Live, dropped));

        // A hybrid node's whole set (it asks for one every 256 batches), looked up in the middle of being applied, as a
        // request on another thread would.
        bool Found(TestKey key) => directory.TryFind(access, key.Sha256, out _, out _, out _);
        var during = new List<bool>();
        IEnumerable<ConsumerApplication> WholeSet()
        {
            yield return App("app-added", "retail", ApplicationState.Live, added);
            during.Add(Found(kept));
            yield return App("app-kept", "retail", ApplicationState.Live, kept, rotatedIn);
            during.Add(Found(kept));
        }

        directory.Reset(WholeSet());

        Assert.Equal([true, true], during);
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", kept.Plaintext)).Status);
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", rotatedIn.Plaintext)).Status);
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", added.Plaintext)).Status);
        Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", rotatedOut.Plaintext)).Status);
        Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", dropped.Plaintext)).Status);
        Assert.Null(directory.Find(access, "app-dropped"));
        Assert.Equal(2, directory.Count);
    }

    [Fact]
    public async Task ExpiredPortalKey_AnswersLikeAnUnknownKey()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var time = new FakeTimeProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url), time: time);
        var key = TestKey.New();
        var expires = time.GetUtcNow().AddMinutes(5);
        gateway.Host.Runtime.Consumers.Upsert(new ConsumerApplication("app-one", "acc", "retail", ApplicationState.Live,
            [new ConsumerKey(key.Sha256, "ghk_abcd", time.GetUtcNow(), expires)]));
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext)).Status);

        time.Advance(TimeSpan.FromMinutes(5));
        var expired = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        var unknown = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", TestKey.New().Plaintext);
        Assert.Equal(401, expired.Status);
        Assert.Equal(unknown.Detail, expired.Detail);
    }
}
