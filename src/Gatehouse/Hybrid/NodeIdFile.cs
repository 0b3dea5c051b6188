using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// The id a hybrid data node started without <c>--node-id</c> goes by: made once (the host name and a random suffix,
/// <c>edge-a-3f9c2e1b</c>) and kept in its state folder as <c>node-id</c>, owner-only, then read at every start.
/// </summary>
/// <remarks>
/// A node token is bound to the first node id that uses it, so the default must outlive the process: the store nodes'
/// <c>HOSTNAME:PID</c> changed at every restart and locked a restarted hybrid node out (403 <c>node-token-mismatch</c>)
/// until its token was issued again. The state folder is where the node's other identity already lives (its journal and
/// its usage sequence, its <c>instance</c>), and a hybrid node always has one (default <c>./gatehouse-node</c>). The
/// random suffix keeps two nodes that share a host name (containers with host networking, cloned images) apart: each
/// folder its own id, so a second node given the same token is refused as before. Asking the control plane for the
/// token's id instead would hand that id to any process holding the token, which is what the binding exists to stop.
/// </remarks>
internal static partial class NodeIdFile
{
    /// <summary>The file in the state folder that keeps the node's id.</summary>
    public const string FileName = "node-id";

    /// <summary>
    /// The id kept in <paramref name="folder"/>, made and written now when there is none (<c>Made</c> true). Throws
    /// <see cref="InvalidDataException"/> when the file holds something that is not a node id (with a sentence that says
    /// what to do), and <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when it cannot be kept.
    /// </summary>
    public static (string Id, bool Made) ReadOrCreate(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (Read(path) is { } kept)
        {
            return (kept, false);
        }

        var made = New(Environment.MachineName);
        // Not over an existing file: two processes started at once on one folder both end up with the one kept.
        return StateFiles.WriteAtomically(path, Encoding.ASCII.GetBytes(made + "\n"), overwrite: false)
            ? (made, true)
            : (Read(path) ?? throw Invalid(path), false);
    }

    /// <summary>A new id for a node on <paramref name="host"/>: its name as far as a node id allows, a dash and 8 random hex digits.</summary>
    internal static string New(string host)
    {
        var name = Unsafe().Replace(host, "-").Trim('-', '.');
        name = name.Length == 0 ? "node" : name[..Math.Min(name.Length, 80)];
        return $"{name}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
    }

    private static string? Read(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var text = File.ReadAllText(path).Trim();
        return Id().IsMatch(text) ? text : throw Invalid(path);
    }

    private static InvalidDataException Invalid(string path) =>
        new($"{path} does not hold a node id (1 to 100 letters, digits, '.', '_', ':' or '-'): write this node's id in it (the one its token is bound to, GET /admin/node-tokens), or give --node-id ID.");

    // What the node API takes in Gatehouse-Node (NodeApi).
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,100}$")]
    private static partial Regex Id();

    [GeneratedRegex("[^A-Za-z0-9._-]+")]
    private static partial Regex Unsafe();
}
