using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>One hand-written HTTP/1.1 exchange over a bare socket, returned as text (see <see cref="RawClient"/> for finer control).</summary>
internal static class RawRoundTrip
{
    /// <summary>
    /// Sends <paramref name="request"/> (Latin-1, sent as-is) and returns everything received until the
    /// server closes the connection; the request should say <c>Connection: close</c>.
    /// </summary>
    public static async Task<string> SendAsync(int port, string request, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), cts.Token);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, cts.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        return Encoding.Latin1.GetString(received.ToArray());
    }

    /// <summary>The value of the first header <paramref name="name"/> (case-insensitive) in a raw request or response, or in its head alone, or null.</summary>
    public static string? Header(string response, string name)
    {
        var head = response.Split("\r\n\r\n", 2)[0];
        foreach (var line in head.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0 && string.Equals(line[..colon], name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }
}
