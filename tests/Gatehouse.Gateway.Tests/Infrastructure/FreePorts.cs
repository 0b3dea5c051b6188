using System.Net;
using System.Net.Sockets;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>Loopback ports free at the time of asking, for servers a test starts outside Kestrel (HAProxy, dnsmasq) or a fixed listener.</summary>
internal static class FreePorts
{
    /// <summary>A TCP port.</summary>
    public static int Tcp()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A port free for both UDP and TCP (a DNS server listens on both).</summary>
    public static int UdpAndTcp()
    {
        while (true)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken for TCP: another one.
            }
        }
    }
}
