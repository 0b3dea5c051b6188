using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Nodes;

/// <summary>
/// Purges of the gateways' memory caches as a control plane hands them to one hybrid data node: the purges recorded in
/// the store's log after purge <see cref="After"/> up to <see cref="Seq"/>, but the node's own (it dropped those answers
/// already), signed like a snapshot (<see cref="SignedEnvelope"/>) because a forged batch could make the node drop its
/// answers, or, skipping purges, keep ones the control plane dropped. The payload is
/// <c>{"kind":"cache-purges","node","after","seq","start","missed","issuedAt","purges":[{"route","path"}]}</c>
/// (<c>path</c> null for every answer of the route).
/// </summary>
/// <param name="Node">The node it is for: a batch for another node leaves out that node's purges and has this one's.</param>
/// <param name="After">The purge it continues from (the node's last one).</param>
/// <param name="Seq">The newest purge it covers (the node asks after it next).</param>
/// <param name="Start">The answer to a node's first ask: no purges, only where the log is now (its cache holds nothing older).</param>
/// <param name="Missed">Purges after <see cref="After"/> are no longer kept (or the store is behind the node): the node
/// cannot tell which answers they dropped, so it drops all of them.</param>
/// <param name="IssuedAt">When the control plane made it.</param>
/// <param name="Purges">The purges, oldest first: a route's id and a request path, or null for every answer of the route.</param>
public sealed record CachePurgeBatch(string Node, long After, long Seq, bool Start, bool Missed, DateTimeOffset IssuedAt, IReadOnlyList<(string Route, string? Path)> Purges)
{
    /// <summary>The payload's <c>kind</c>.</summary>
    public const string Kind = "cache-purges";

    /// <summary>The signed envelope of this batch.</summary>
    public byte[] Sign(ECDsa key)
    {
        var purges = new JsonArray();
        foreach (var (route, path) in Purges)
        {
            purges.Add(new JsonObject { ["route"] = route, ["path"] = path });
        }

        var payload = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["kind"] = Kind,
            ["node"] = Node,
            ["after"] = After,
            ["seq"] = Seq,
            ["start"] = Start,
            ["missed"] = Missed,
            ["issuedAt"] = IssuedAt,
            ["purges"] = purges,
        });
        return SignedEnvelope.Sign(payload, key);
    }

    /// <summary>The batch in <paramref name="envelope"/> when it is signed by <paramref name="pinned"/> and is a cache purge batch; else why not.</summary>
    public static (CachePurgeBatch? Batch, SnapshotRefusal? Refusal) Verify(ReadOnlySpan<byte> envelope, ECDsa pinned) =>
        SignedEnvelope.Open(envelope, pinned, Kind, "a cache purge batch", body =>
        {
            var purges = body["purges"]!.AsArray().Select(p => ((string)p!["route"]!, (string?)p["path"])).ToList();
            return new CachePurgeBatch((string)body["node"]!, (long)body["after"]!, (long)body["seq"]!, (bool)body["start"]!, (bool)body["missed"]!,
                (DateTimeOffset)body["issuedAt"]!, purges);
        });
}
