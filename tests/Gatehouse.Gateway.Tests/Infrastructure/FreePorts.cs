using System.Net;
using System.Net.Sockets;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// Loopback ports for servers a test starts on a port it must know first (HAProxy, dnsmasq, PostgreSQL, Redis, a child
/// process's listener, a fixed listener).
/// Picked <em>below</em> the kernel's range for ephemeral ports (<c>ip_local_port_range</c>, 32768–60999 by default) and
/// checked free by binding. A port from binding port 0, as the tests did, comes from that range, which is also where every
/// outgoing connection's local port comes from: between the pick and the server's own bind, any of the thousands of
/// connections the suite makes could take it. Ports handed out in this process are never handed out again.
/// </summary>
internal static class FreePorts
{
    private const int Low = 20000;
    private static readonly HashSet<int> Given = [];
    private static readonly Lock Gate = new();
    private static readonly int High = EphemeralStart();

    /// <summary>A TCP port nothing listens on now, nor given to another caller of this process.</summary>
    public static int Tcp() => Next(udpToo: false);

    /// <summary>A port free for both UDP and TCP (a DNS server listens on both).</summary>
    public static int UdpAndTcp() => Next(udpToo: true);

    private static int Next(bool udpToo)
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 500; attempt++)
            {
                var port = Random.Shared.Next(Low, High);
                if (Given.Contains(port) || !Bindable(port) || (udpToo && !BindableUdp(port)))
                {
                    continue;
                }

                Given.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port between {Low} and {High} after 500 tries.");
    }

    private static bool Bindable(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static bool BindableUdp(int port)
    {
        try
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // The first ephemeral port, from the kernel's setting where there is one; never above 32768 nor below Low + 1000.
    private static int EphemeralStart()
    {
        try
        {
            var first = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0];
            return Math.Clamp(int.Parse(first, System.Globalization.CultureInfo.InvariantCulture), Low + 1000, 32768);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768;
        }
    }
}
