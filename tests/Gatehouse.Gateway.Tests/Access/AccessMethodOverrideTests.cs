using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue #3: method-override headers never turn a read grant into a write, never reach services, and the
/// <c>Gatehouse-*</c> identity headers services see come from the gateway alone.
/// </summary>
public sealed class AccessMethodOverrideTests : IAsyncLifetime
{
    private static readonly string[] OverrideHeaders = ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"];
    private readonly TestKey _readOnly = TestKey.New();
    private TestBackend _backend = null!;
    private TestGateway _gateway = null!;

    public async Task InitializeAsync()
    {
        _backend = await TestBackend.StartEchoAsync();
        var yaml = "version: 1\n" + AccessKit.ServicesAndRoutes(_backend.Url, "  legacy: { path: \"/legacy/{**rest}\", service: users }\n") + $$"""
            plans:
              reader:
                include: [ { tag: orders, access: read }, { route: legacy, access: read } ]
              internal:
                include: [ { path: /** } ]
            accounts: { acme: {} }
            applications:
              reader-app: { account: acme, plan: reader, keys: [ { sha256: {{_readOnly.Sha256}} } ] }

            """;
        _gateway = await TestGateway.StartAsync(yaml);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _backend.DisposeAsync();
    }

    public static TheoryData<string, string> Overrides()
    {
        var data = new TheoryData<string, string>();
        foreach (var header in OverrideHeaders)
        {
            data.Add(header, "GET");
            data.Add(header, "get");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Overrides))]
    public async Task WriteMethod_WithOverrideToRead_OnReadOnlyPlan_IsForbidden(string header, string value)
    {
        foreach (var (method, path) in new[] { ("POST", "/orders"), ("DELETE", "/orders/42"), ("PATCH", "/orders/42"), ("POST", "/legacy/x"), ("DELETE", "/legacy/x") })
        {
            var sent = await AccessKit.SendAsync(_gateway.Client, method, path, _readOnly.Plaintext, (header, value));

            Assert.True(sent.Status == 403, $"{method} {path} with {header}: {value} got {sent.Status}: {sent.Body}");
            Assert.Contains("does not grant write access", sent.Detail, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("X-HTTP-Method-Override", "DELETE")]
    [InlineData("X-HTTP-Method", "PUT")]
    [InlineData("X-Method-Override", "POST")]
    public async Task ReadMethod_WithOverrideToWrite_IsServedAsTheRead_AndTheServiceNeverSeesTheOverride(string header, string value)
    {
        foreach (var path in new[] { "/orders/42", "/legacy/x" })
        {
            var sent = await AccessKit.SendAsync(_gateway.Client, "GET", path, _readOnly.Plaintext, (header, value));

            Assert.Equal(200, sent.Status);
            Assert.Equal("GET", sent.Upstream!.Method);
            Assert.All(OverrideHeaders, h => Assert.Null(sent.Upstream.Header(h)));
        }
    }

    [Fact]
    public async Task AllThreeOverrideHeaders_AtOnce_NoneReachesTheService()
    {
        var sent = await AccessKit.SendAsync(_gateway.Client, "GET", "/orders/42", _readOnly.Plaintext,
            ("X-HTTP-Method-Override", "DELETE"), ("X-HTTP-Method", "DELETE"), ("X-Method-Override", "DELETE"), ("X-Other", "kept"));

        Assert.Equal(200, sent.Status);
        Assert.All(OverrideHeaders, h => Assert.Null(sent.Upstream!.Header(h)));
        Assert.Equal("kept", sent.Upstream!.Header("X-Other"));
    }

    [Fact]
    public async Task ClientSentGatehouseHeaders_NeverReachTheService_TheGatewaysOwnDo()
    {
        var sent = await AccessKit.SendAsync(_gateway.Client, "GET", "/orders/42", _readOnly.Plaintext,
            ("Gatehouse-Application", "someone-else"), ("Gatehouse-Plan", "internal"), ("gatehouse-plan", "internal2"));

        Assert.Equal(200, sent.Status);
        Assert.Equal("reader-app", sent.Upstream!.Header("Gatehouse-Application"));
        Assert.Equal("reader", sent.Upstream.Header("Gatehouse-Plan"));
    }

    [Fact]
    public async Task ClientSentGatehouseHeaders_DoNotGrantAnything()
    {
        var sent = await AccessKit.SendAsync(_gateway.Client, "PUT", "/users/42", _readOnly.Plaintext,
            ("Gatehouse-Application", "internal-app"), ("Gatehouse-Plan", "internal"));

        Assert.Equal(403, sent.Status);
        Assert.Contains("Plan 'reader' does not grant write access to operation 'users.updateUser'", sent.Detail, StringComparison.Ordinal);
    }
}
