using Gatehouse.Gateway.Authentication;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Authentication;

/// <summary>
/// The issuer's key set served by a real Kestrel JWKS endpoint: periodic refresh, rotation, outages, the early
/// refresh an unknown kid triggers (once, not a storm), and headers that must never make the gateway fetch.
/// </summary>
public sealed class JwksCacheTests : IAsyncLifetime
{
    private readonly SigningKey _old = SigningKey.Rsa("2025-01");
    private readonly SigningKey _new = SigningKey.Ec("2025-02");
    private JwksServer _server = null!;
    private ValidatorSetup _setup = null!;

    private TimeSpan Refresh => TimeSpan.FromMinutes(10);

    public async Task InitializeAsync()
    {
        _server = await JwksServer.StartAsync(SigningKey.Jwks(_old));
        _setup = await ValidatorSetup.StartAsync(ValidatorSetup.Config(url: _server.Url));
    }

    public async Task DisposeAsync()
    {
        await _setup.DisposeAsync();
        await _server.DisposeAsync();
        _old.Dispose();
        _new.Dispose();
    }

    private string Token(SigningKey key) => Jws.Sign(key, Jws.Claims(_setup.Now));

    [Fact]
    public async Task Start_FetchesOnce_AndValidTokensDoNotCallTheJwksHost()
    {
        Assert.Equal(1, _server.Hits);

        for (var i = 0; i < 20; i++)
        {
            Assert.True((await _setup.ValidateAsync(Token(_old))).Succeeded);
        }

        Assert.Equal(1, _server.Hits);
    }

    [Fact]
    public async Task PeriodicRefresh_PicksUpARotatedKey()
    {
        _server.Jwks = SigningKey.Jwks(_new);

        _setup.Time.Advance(Refresh);
        await Wait.UntilAsync(() => _setup.Cache.Current.ByKid.ContainsKey(_new.Kid), "the refresh to load the rotated key");

        Assert.Equal(2, _server.Hits);
        Assert.Equal("shop-app", (await _setup.ValidateAsync(Token(_new))).ApplicationId);
        Assert.False(_setup.Cache.Current.ByKid.ContainsKey(_old.Kid));
    }

    [Fact]
    public async Task ServerDown_LastGoodKeysKeepWorking_AndTheOutageIsLoggedOnce()
    {
        await _server.StopAsync();

        for (var i = 0; i < 3; i++)
        {
            _setup.Time.Advance(Refresh);
            await _setup.Cache.RefreshAsync(); // joins the timer's refresh if it is still running, or runs one more
            Assert.True((await _setup.ValidateAsync(Token(_old))).Succeeded, $"round {i}");
        }

        var warnings = _setup.Logs.Entries.Where(e => e.Level == LogLevel.Warning).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains("keeping the last good 1 key(s)", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerBack_AfterAnOutage_IsLoggedAsRecoveredAndServesNewKeys()
    {
        _server.Jwks = "this is not json";
        await _setup.Cache.RefreshAsync();
        Assert.True((await _setup.ValidateAsync(Token(_old))).Succeeded);

        _server.Jwks = SigningKey.Jwks(_old, _new);
        await _setup.Cache.RefreshAsync();

        Assert.True((await _setup.ValidateAsync(Token(_new))).Succeeded);
        Assert.Single(_setup.Logs.Entries, e => e.Level == LogLevel.Warning);
        Assert.Single(_setup.Logs.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("refreshed again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EmptyKeySet_IsAFailedRefresh_NotALockout()
    {
        _server.Jwks = """{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}""";

        await _setup.Cache.RefreshAsync();

        Assert.True((await _setup.ValidateAsync(Token(_old))).Succeeded);
    }

    [Fact]
    public async Task UnknownKid_ThatWasJustPublished_IsAcceptedThroughOneEarlyRefresh()
    {
        _server.Jwks = SigningKey.Jwks(_old, _new);

        var result = await _setup.ValidateAsync(Token(_new));

        Assert.True(result.Succeeded, result.FailureCode);
        Assert.Equal(2, _server.Hits);
    }

    [Fact]
    public async Task UnknownKids_ManyAtOnce_TriggerOneEarlyRefreshNotAStorm()
    {
        using var stranger = SigningKey.Rsa("forged");
        var token = Token(stranger);

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => _setup.ValidateAsync(token)));
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("unknown-key", (await _setup.ValidateAsync(token)).FailureCode);
        }

        Assert.All(results, r => Assert.Equal("unknown-key", r.FailureCode));
        Assert.Equal(2, _server.Hits); // the start, and one early refresh

        _setup.Time.Advance(JwksCache.EarlyRefreshInterval - TimeSpan.FromSeconds(1));
        Assert.Equal("unknown-key", (await _setup.ValidateAsync(token)).FailureCode);
        Assert.Equal(2, _server.Hits);

        _setup.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("unknown-key", (await _setup.ValidateAsync(token)).FailureCode);
        Assert.Equal(3, _server.Hits);
    }

    [Theory]
    [InlineData("jku")]
    [InlineData("x5u")]
    public async Task KeyUrlHeader_PointingElsewhere_IsNeverFetched(string header)
    {
        using var attacker = SigningKey.Rsa("attacker-key");
        await using var trap = await JwksServer.StartAsync(SigningKey.Jwks(attacker));
        var withForeignKid = Jws.Header(attacker);
        withForeignKid[header] = trap.Url.ToString();
        var withKnownKid = Jws.Header(attacker);
        withKnownKid["kid"] = _old.Kid;
        withKnownKid[header] = trap.Url.ToString();

        Assert.Equal("unknown-key", (await _setup.ValidateAsync(Jws.Sign(attacker, Jws.Claims(_setup.Now), withForeignKid))).FailureCode);
        Assert.Equal("bad-signature", (await _setup.ValidateAsync(Jws.Sign(attacker, Jws.Claims(_setup.Now), withKnownKid))).FailureCode);

        Assert.Equal(0, trap.Hits);
        Assert.Equal(2, _server.Hits); // the start and the early refresh for the foreign kid: only the configured URL
    }
}
