using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.Policies;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Discovery;

/// <summary>
/// SRV targets and a service's own DNS servers, against a real DNS server (dnsmasq on a loopback port, as Consul's
/// agent would be): each record of the lowest priority is a destination at its host and port; a changed answer is
/// followed at the next refresh; a failed lookup keeps the last destinations; address lookups use the servers too.
/// </summary>
public sealed class SrvDiscoveryTests
{
    /// <summary>A dnsmasq answering only what it is given, on a free loopback port; restartable with other records.</summary>
    private sealed class Dnsmasq : IDisposable
    {
        private Process? _process;

        public int Port { get; private set; } = FreePorts.UdpAndTcp();

        /// <summary>
        /// Starts dnsmasq with <paramref name="records"/>. The first start takes another free port when the one picked
        /// was taken meanwhile (Kestrel's test servers take ephemeral ports too); a restart keeps its port, since a
        /// gateway was pointed at it.
        /// </summary>
        public void Start(params string[] records)
        {
            var restart = _started;
            for (var attempt = 0; ; attempt++)
            {
                var error = TryStart(records);
                if (error is null)
                {
                    _started = true;
                    return;
                }

                Assert.True(attempt < 20 && error.Contains("Address already in use", StringComparison.Ordinal), $"dnsmasq did not start: {error}");
                if (!restart)
                {
                    Port = FreePorts.UdpAndTcp();
                }

                Thread.Sleep(100);
            }
        }

        private bool _started;

        private string? TryStart(string[] records)
        {
            Stop();
            var path = new[] { "/usr/sbin/dnsmasq", "/usr/bin/dnsmasq" }.FirstOrDefault(File.Exists);
            Assert.True(path is not null, "dnsmasq is not installed; ./test.sh installs it (Debian: apt-get install dnsmasq-base)");
            var info = new ProcessStartInfo(path!) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in new[] { "--keep-in-foreground", "--no-daemon", $"--port={Port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts", "--pid-file=", "--user=" + Environment.UserName }.Concat(records))
            {
                info.ArgumentList.Add(arg);
            }

            // dnsmasq says "started" once its sockets are bound, or why it could not bind them, and exits.
            var said = new System.Collections.Concurrent.ConcurrentQueue<string>();
            _process = new Process { StartInfo = info };
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    said.Enqueue(e.Data);
                }
            };
            _process.Start();
            _process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!said.Any(line => line.Contains("started, version", StringComparison.Ordinal)))
            {
                if (_process.HasExited)
                {
                    _process.WaitForExit(); // the last lines are read
                    return string.Join("\n", said);
                }

                Assert.True(DateTime.UtcNow < deadline, $"dnsmasq did not start: {string.Join("\n", said)}");
                Thread.Sleep(50);
            }

            return null;
        }

        public void Stop()
        {
            if (_process is { HasExited: false })
            {
                _process.Kill();
                _process.WaitForExit();
            }

            _process?.Dispose();
            _process = null;
        }

        public void Dispose() => Stop();
    }

    private static Task<RecordingBackend> Backend(string name) => RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync(name));

    private static int PortOf(RecordingBackend backend) => new Uri(backend.Url).Port;

    private static async Task<TestGateway> StartAsync(int dnsPort, string targets, string refresh = "30s")
    {
        var loaded = ConfigLoader.Load($$"""
            version: 1
            services:
              orders:
                targets: {{targets}}
                dnsServers: ["127.0.0.1:{{dnsPort}}"]
                dnsRefresh: {{refresh}}
            routes:
              all: { path: "/{**rest}", service: orders }
            """, Path.GetTempPath());
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        return await TestGateway.StartAsync(loaded.Config!);
    }

    private static async Task<List<string>> BodiesAsync(TestGateway gateway, int count)
    {
        var bodies = new List<string>();
        for (var i = 0; i < count; i++)
        {
            using var response = await gateway.Client.GetAsync("/x");
            bodies.Add(await response.Content.ReadAsStringAsync());
        }

        return bodies;
    }

    [Fact]
    public async Task EachRecordOfTheLowestPriority_IsADestination_AtItsHostAndPort_ByItsWeight()
    {
        await using var a = await Backend("a");
        await using var b = await Backend("b");
        await using var c = await Backend("c");
        using var dns = new Dnsmasq();
        dns.Start($"--srv-host=_orders._tcp.svc.test,node-a.svc.test,{PortOf(a)},0,3", $"--srv-host=_orders._tcp.svc.test,node-b.svc.test,{PortOf(b)},0,1",
            $"--srv-host=_orders._tcp.svc.test,node-c.svc.test,{PortOf(c)},10,1",
            "--host-record=node-a.svc.test,127.0.0.1", "--host-record=node-b.svc.test,127.0.0.1", "--host-record=node-c.svc.test,127.0.0.1");
        await using var gateway = await StartAsync(dns.Port, "[ { url: \"http://_orders._tcp.svc.test\", srv: true } ]");

        await Wait.UntilAsync(async () => (await BodiesAsync(gateway, 1))[0] != "" && gateway.Host.Runtime.Current.Upstreams["orders"].Destinations.Length == 2, "the SRV lookup");
        var bodies = await BodiesAsync(gateway, 40);

        Assert.Equal(30, bodies.Count(x => x == "a")); // weights 3 and 1
        Assert.Equal(10, bodies.Count(x => x == "b"));
        Assert.Equal(0, c.Count); // priority 10: only when priority 0 has nothing
        Assert.Equal($"node-a.svc.test:{PortOf(a)}", a.Seen.Last().Headers["Host"]);
    }

    /// <summary>
    /// A record whose host has no address is left out, not the whole answer; when the lowest priority is left with
    /// none, the next priority serves (RFC 2782).
    /// </summary>
    [Fact]
    public async Task ARecordWhoseHostHasNoAddress_IsLeftOut_AndTheNextPriorityServes()
    {
        await using var c = await Backend("c");
        using var dns = new Dnsmasq();
        dns.Start("--srv-host=_orders._tcp.svc.test,gone.svc.test,9,0,1", $"--srv-host=_orders._tcp.svc.test,node-c.svc.test,{PortOf(c)},10,1",
            "--host-record=node-c.svc.test,127.0.0.1");
        await using var gateway = await StartAsync(dns.Port, "[ { url: \"http://_orders._tcp.svc.test\", srv: true } ]");

        await Wait.UntilAsync(() => gateway.Host.Runtime.Current.Upstreams["orders"].Destinations.Length == 1, "the SRV lookup");
        Assert.All(await BodiesAsync(gateway, 5), x => Assert.Equal("c", x));
    }

    [Fact]
    public async Task AChangedAnswer_IsFollowed_AndAFailedLookupKeepsTheLastDestinations()
    {
        await using var a = await Backend("a");
        await using var b = await Backend("b");
        using var dns = new Dnsmasq();
        dns.Start($"--srv-host=_orders._tcp.svc.test,node-a.svc.test,{PortOf(a)},0,1", "--host-record=node-a.svc.test,127.0.0.1");
        await using var gateway = await StartAsync(dns.Port, "[ { url: \"http://_orders._tcp.svc.test\", srv: true } ]", refresh: "500ms");
        await Wait.UntilAsync(async () => (await BodiesAsync(gateway, 1))[0] == "a", "the first answer");

        // The service moved: another host and port.
        dns.Start($"--srv-host=_orders._tcp.svc.test,node-b.svc.test,{PortOf(b)},0,1", "--host-record=node-b.svc.test,127.0.0.1");
        await Wait.UntilAsync(async () => (await BodiesAsync(gateway, 1))[0] == "b", "the new answer to be followed");
        Assert.All(await BodiesAsync(gateway, 5), x => Assert.Equal("b", x));

        // The DNS server is gone: the last answer stays.
        dns.Stop();
        await Task.Delay(1500);
        Assert.All(await BodiesAsync(gateway, 5), x => Assert.Equal("b", x));
    }

    [Fact]
    public async Task ATargetGivenByName_IsLookedUpAtTheServicesDnsServers()
    {
        await using var a = await Backend("a");
        using var dns = new Dnsmasq();
        // A name no other resolver of this machine knows.
        dns.Start("--host-record=orders.only-in-dnsmasq.test,127.0.0.1");
        await using var gateway = await StartAsync(dns.Port, $"[ \"http://orders.only-in-dnsmasq.test:{PortOf(a)}\" ]");

        await Wait.UntilAsync(() => gateway.Host.Runtime.Current.Upstreams["orders"].Destinations.Single().Address == "127.0.0.1", "the lookup at dnsmasq");
        Assert.All(await BodiesAsync(gateway, 3), x => Assert.Equal("a", x));
    }

    [Theory]
    [InlineData("[ { url: \"http://_orders._tcp.svc.test:8080\", srv: true } ]", "services.orders.targets[0].url")]
    [InlineData("[ { url: \"http://10.0.0.1\", srv: true } ]", "services.orders.targets[0].url")]
    public void ABadSrvTarget_IsRefusedWithItsPath(string targets, string path)
    {
        var loaded = ConfigLoader.Load($$"""
            version: 1
            services:
              orders: { targets: {{targets}} }
            """, Path.GetTempPath());

        Assert.Contains(loaded.Errors, e => e.Path == path);
    }

    [Theory]
    [InlineData("nameserver")]
    [InlineData("127.0.0.1:99999")]
    public void ABadDnsServer_IsRefusedWithItsPath(string server)
    {
        var loaded = ConfigLoader.Load($$"""
            version: 1
            services:
              orders: { targets: ["http://orders.test:8080"], dnsServers: ["{{server}}"] }
            """, Path.GetTempPath());

        Assert.Contains(loaded.Errors, e => e.Path == "services.orders.dnsServers[0]");
    }
}
