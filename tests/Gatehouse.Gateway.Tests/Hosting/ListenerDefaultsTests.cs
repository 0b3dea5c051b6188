using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>The contract: the gateway listens on http://127.0.0.1:8080 unless told otherwise; --port changes the port.</summary>
public sealed class ListenerDefaultsTests
{
    [Fact]
    public void NoListenersConfigured_DefaultIsLoopback8080()
    {
        var config = TestGateway.Parse("version: 1\n");

        var listeners = GatewayHost.EffectiveListeners(config, port: null);

        Assert.Equal(["http://127.0.0.1:8080"], listeners.Select(l => l.Url));
    }

    [Fact]
    public void PortOption_ChangesTheDefaultListenersPort()
    {
        var config = TestGateway.Parse("version: 1\n");

        var listeners = GatewayHost.EffectiveListeners(config, port: 9090);

        Assert.Equal(["http://127.0.0.1:9090"], listeners.Select(l => l.Url));
    }

    [Fact]
    public void PortOption_ChangesOnlyTheFirstConfiguredListener_AndKeepsItsSettings()
    {
        var config = TestGateway.Parse("""
            version: 1
            gateway:
              listeners:
                - url: "http://*:8000"
                  protocols: http1
                - url: http://127.0.0.1:8001
                  protocols: http2
            """);

        var listeners = GatewayHost.EffectiveListeners(config, port: 7000);

        Assert.Equal(["http://0.0.0.0:7000", "http://127.0.0.1:8001"], listeners.Select(l => l.Url));
        Assert.Equal([ListenerProtocols.Http1, ListenerProtocols.Http2], listeners.Select(l => l.Protocols));
    }
}
