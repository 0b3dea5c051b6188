using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Cli.Hybrid;
using Gatehouse.Model.Nodes;

namespace Gatehouse.Cli.Commands;

/// <summary><c>gatehouse run --role data --control-plane URL --node-token TOKEN --control-plane-key FILE</c>: a hybrid data node.</summary>
internal static class HybridCommand
{
    public sealed record Arguments(string ControlPlane, string? Token, string? KeyFile, string? CaFile, string StateDirectory, string? NodeId, int? Port, string HealthUrl, bool ClusterLimits = false);

    public static async Task<int> RunAsync(Arguments arguments, CancellationToken ct)
    {
        if (!Uri.TryCreate(arguments.ControlPlane, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            return Fail($"--control-plane '{arguments.ControlPlane}' is not a URL such as https://cp.example:8443.");
        }

        if (url.Scheme == Uri.UriSchemeHttp && !url.IsLoopback)
        {
            return Fail($"--control-plane '{arguments.ControlPlane}' is http on a network: the node token would cross it in clear. Use https://.");
        }

        if (string.IsNullOrWhiteSpace(arguments.Token))
        {
            return Fail($"A hybrid data node needs its node token: --node-token TOKEN or ${RunCommand.NodeTokenVariable} (issue one with POST /admin/node-tokens on the control plane).");
        }

        if (arguments.KeyFile is null)
        {
            return Fail("A hybrid data node needs the control plane's public key: --control-plane-key FILE (the .pub.pem beside the control plane's --signing-key).");
        }

        ECDsa pinned;
        try
        {
            pinned = SignedSnapshot.PublicKeyFromPem(File.ReadAllText(arguments.KeyFile));
        }
        catch (ArgumentException e)
        {
            return Fail($"{arguments.KeyFile}: {e.Message}");
        }

        X509Certificate2? ca = null;
        if (arguments.CaFile is not null)
        {
            try
            {
                ca = X509Certificate2.CreateFromPem(File.ReadAllText(arguments.CaFile));
            }
            catch (CryptographicException e)
            {
                pinned.Dispose();
                return Fail($"--control-plane-ca {arguments.CaFile} is not a PEM certificate ({e.Message.TrimEnd('.')}).");
            }
        }

        var stateDirectory = Path.GetFullPath(arguments.StateDirectory);
        // One process per state folder, taken before anything in it is read or made (its node id first of all), held
        // until this process ends: StateFolderLock says why.
        StateFolderLock? folderLock;
        try
        {
            folderLock = StateFolderLock.TryTake(stateDirectory, out var heldBy);
            if (folderLock is null)
            {
                pinned.Dispose();
                return Fail(heldBy!);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            pinned.Dispose();
            return Fail($"--state-dir {stateDirectory} cannot be used ({e.Message.TrimEnd('.')}): give a folder this user can write.");
        }

        using var _ = folderLock;
        // Without --node-id, an id kept in the state folder, not HOSTNAME:PID: the token is bound to the first id that uses
        // it, so an id that changed at each restart locked the restarted node out (NodeIdFile says why this one).
        var nodeId = arguments.NodeId;
        string? madeNow = null;
        if (string.IsNullOrWhiteSpace(nodeId))
        {
            try
            {
                (nodeId, var made) = NodeIdFile.ReadOrCreate(stateDirectory);
                madeNow = made ? Path.Combine(stateDirectory, NodeIdFile.FileName) : null;
            }
            catch (InvalidDataException e)
            {
                pinned.Dispose();
                return Fail(e.Message);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                pinned.Dispose();
                return Fail($"The node id cannot be kept in --state-dir {stateDirectory} ({e.Message.TrimEnd('.')}): give a folder this user can write, or --node-id ID.");
            }
        }

        // The path ends in '/' so that relative paths of the node API (node/v1/...) resolve under it.
        var baseUrl = new Uri(url.AbsoluteUri.EndsWith('/') ? url.AbsoluteUri : url.AbsoluteUri + "/");
        HybridNode node;
        try
        {
            node = await HybridNode.StartAsync(new HybridNode.Options(baseUrl, arguments.Token.Trim(), pinned, ca, stateDirectory, nodeId, arguments.Port, arguments.HealthUrl, Directory.GetCurrentDirectory(), arguments.ClusterLimits), ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            pinned.Dispose();
            Console.Error.WriteLine(StoreNode.CannotListen(e));
            return 2;
        }

        await using (node.ConfigureAwait(false))
        {
            var served = node.Revision > 0 ? $"revision {node.Revision} from {stateDirectory}" : "no config yet: /ready is 503 until the control plane sends one";
            var health = node.Host.HealthUrl is { } healthUrl ? $"; /ready and /live on {healthUrl}" : "";
            if (madeNow is not null)
            {
                Console.Out.WriteLine($"Node id {nodeId} made now and kept in {madeNow}: the node token is bound to it at its first use, and this node keeps it across restarts.");
            }

            Console.Out.WriteLine($"Gatehouse hybrid data node {nodeId} is listening on {string.Join(", ", node.Host.Urls)} ({served}{health}); control plane {baseUrl}. Ctrl+C stops it.");
            if (node.Host.MetricsUrl is { } metricsUrl)
            {
                // As gatehouse run --config says it: metrics.url is read at start, so only a config from disk opens it.
                Console.Out.WriteLine($"Metrics: {metricsUrl}/metrics");
            }

            await node.Host.WaitForShutdownAsync(ct).ConfigureAwait(false);
        }

        pinned.Dispose();
        return 0;
    }

    private static int Fail(string line)
    {
        Console.Error.WriteLine(line);
        return 2;
    }
}
