using System.Text;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue #25, the cache of recently authenticated keys: a key seen again is found by its keyed BLAKE3 without its SHA-256,
/// and the cache never answers for a key that the config or the portal no longer holds, nor for another key in its slot.
/// (The revoked, rotated, suspended and expired cases through the proxy are in AccessCredentialTests and
/// ConsumerDirectoryTests; each of them uses its key before the change, so it is cached when the change comes.)
/// </summary>
[Trait("Issue", "25")]
public sealed class KeyCacheTests
{
    private static string Yaml(string backendUrl, string applications) =>
        "version: 1\n" + AccessKit.ServicesAndRoutes(backendUrl) + """
        plans:
          retail:
            include: [ { tag: users, access: read } ]
          gold:
            include: [ { tag: users } ]
        accounts: { acme: {} }
        applications:

        """ + applications;

    private static KeyCache.Digest Digest(string key) => KeyCache.DigestOf(Encoding.UTF8.GetBytes(key));

    [Fact]
    public async Task Digest_IsTheSameOnEveryThread_AndDiffersBetweenKeys()
    {
        var key = TestKey.New().Plaintext;
        var here = Digest(key);
        var elsewhere = await Task.Run(() => Digest(key));
        var again = Digest(key);

        Assert.Equal(here, elsewhere);
        Assert.Equal(here, again);
        Assert.NotEqual(here, Digest(key + "x"));
        Assert.NotEqual(here, Digest(key[..^1]));
        Assert.NotEqual(default, here);
    }

    [Fact]
    public async Task KeySeenAgain_IsAnsweredFromTheCache_UnknownKeysAreNotKept()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var key = TestKey.New();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, AccessKit.Application("shop", "retail", key)));
        var engine = gateway.Host.Runtime.Engine;
        var model = gateway.Host.Runtime.Current.Access!;

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", TestKey.New().Plaintext)).Status);
        }

        Assert.Equal(0, engine.Keys.Count);
        var first = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
        Assert.Equal(1, engine.Keys.Count);
        Assert.True(engine.Keys.TryGet(Digest(key.Plaintext), model, out var cached, out _));
        Assert.Equal("shop", cached!.Id);
        var second = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);

        Assert.Equal(200, first.Status);
        Assert.Equal(200, second.Status);
        Assert.Equal("shop", second.Upstream!.Header("Gatehouse-Application"));
        Assert.Equal(1, engine.Keys.Count);
    }

    [Fact]
    public async Task NewRevision_MovesTheKeysApplication_TheCachedKeyFollowsIt()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var key = TestKey.New();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, AccessKit.Application("shop", "retail", key)));
        var engine = gateway.Host.Runtime.Engine;

        Assert.Equal(403, (await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42", key.Plaintext)).Status);
        var before = gateway.Host.Runtime.Current.Access!;
        Assert.True(engine.Keys.TryGet(Digest(key.Plaintext), before, out _, out _));

        Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(Yaml(backend.Url, AccessKit.Application("shop", "gold", key)))));
        var after = gateway.Host.Runtime.Current.Access!;
        Assert.False(engine.Keys.TryGet(Digest(key.Plaintext), after, out _, out _));
        var moved = await AccessKit.SendAsync(gateway.Client, "PUT", "/users/42", key.Plaintext);

        Assert.Equal(200, moved.Status);
        Assert.Equal("gold", moved.Upstream!.Header("Gatehouse-Plan"));
    }

    [Fact]
    public async Task CachedKeyOfAnOldRevision_DoesNotKeepThatRevisionsModelAlive()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var key = TestKey.New();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, AccessKit.Application("shop", "retail", key)));
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext)).Status);
        var old = OldModel(gateway);

        // New revisions, and requests on them with other keys only: the old key's entry stays in its slot.
        for (var i = 0; i < 3; i++)
        {
            var other = TestKey.New();
            Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(Yaml(backend.Url,
                AccessKit.Application("shop", "retail", key) + AccessKit.Application("other", "retail", other)))));
            Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", other.Plaintext)).Status);
        }

        for (var i = 0; i < 3 && old.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.True(gateway.Host.Runtime.Engine.Keys.Count >= 2);
        Assert.False(old.IsAlive, "the first revision's access model is still reachable");
    }

    [Fact]
    public async Task PortalApplicationNotCalledSinceAReload_DoesNotKeepTheOldModelAlive()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var configKey = TestKey.New();
        var portalKey = TestKey.New();
        var yaml = Yaml(backend.Url, AccessKit.Application("config-app", "retail", configKey));
        await using var gateway = await TestGateway.StartAsync(yaml);
        gateway.Host.Runtime.Consumers.Upsert(new ConsumerApplication("portal-app", "acc-1", "retail", ApplicationState.Live,
            [new ConsumerKey(portalKey.Sha256, portalKey.Plaintext[..8], DateTimeOffset.UnixEpoch, null)]));
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", portalKey.Plaintext)).Status);
        var old = OldModel(gateway);

        for (var i = 0; i < 3; i++)
        {
            Assert.Empty(gateway.Host.Runtime.Apply(TestGateway.Parse(yaml)));
            Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", configKey.Plaintext)).Status);
        }

        for (var i = 0; i < 3 && old.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(old.IsAlive, "the first revision's access model is still reachable");
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", portalKey.Plaintext)).Status);
    }

    // Not inlined, so that no local of the test keeps the model.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference OldModel(TestGateway gateway) => new(gateway.Host.Runtime.Current.Access!);

    [Fact]
    public async Task TwoKeysInOneSlot_EachIsItsOwnApplication_NeverTheOther()
    {
        // Keys until two share a slot (a birthday among 16,384 slots: about 160 keys on average).
        var slots = new Dictionary<int, TestKey>();
        (TestKey A, TestKey B)? pair = null;
        for (var i = 0; i < 20_000 && pair is null; i++)
        {
            var key = TestKey.New();
            var slot = (int)Digest(key.Plaintext).A & (KeyCache.Slots - 1);
            if (slots.TryGetValue(slot, out var other))
            {
                pair = (other, key);
            }

            slots[slot] = key;
        }

        var (a, b) = pair!.Value;
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url,
            AccessKit.Application("app-a", "retail", a) + AccessKit.Application("app-b", "gold", b)));

        foreach (var (key, app) in new[] { (a, "app-a"), (b, "app-b"), (a, "app-a"), (a, "app-a"), (b, "app-b"), (b, "app-b"), (a, "app-a") })
        {
            var sent = await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", key.Plaintext);
            Assert.Equal(200, sent.Status);
            Assert.Equal(app, sent.Upstream!.Header("Gatehouse-Application"));
        }

        Assert.Equal(1, gateway.Host.Runtime.Engine.Keys.Count);
    }

    [Fact]
    public async Task PortalKey_CachedThenRevokedByRemovingItsApplication_Gets401_AndAnotherKeyOfItStillWorks()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, AccessKit.Application("config-app", "retail", TestKey.New())));
        var consumers = gateway.Host.Runtime.Consumers;
        var kept = TestKey.New();
        var revoked = TestKey.New();
        ConsumerApplication App(params TestKey[] keys) =>
            new("portal-app", "acc-1", "retail", ApplicationState.Live, [.. keys.Select(k => new ConsumerKey(k.Sha256, k.Plaintext[..8], DateTimeOffset.UnixEpoch, null))]);

        consumers.Upsert(App(kept, revoked));
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", kept.Plaintext)).Status);
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", revoked.Plaintext)).Status);
        Assert.Equal(2, gateway.Host.Runtime.Engine.Keys.Count);

        // Revoking one key (the application upserted without it) retires that key's entry; the other key's entry is
        // replaced by the same change, so it is looked up again and still works.
        consumers.Upsert(App(kept));
        Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", revoked.Plaintext)).Status);
        Assert.Equal(200, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", kept.Plaintext)).Status);

        consumers.Remove("portal-app");
        Assert.Equal(401, (await AccessKit.SendAsync(gateway.Client, "GET", "/users/42", kept.Plaintext)).Status);
    }
}
