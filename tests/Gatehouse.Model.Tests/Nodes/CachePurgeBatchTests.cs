using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gatehouse.Model.Nodes;

namespace Gatehouse.Model.Tests.Nodes;

/// <summary>
/// The signed batches of cache purges hybrid data nodes verify (issues 21, 23): they come back whole under the pinned key
/// (a path-less purge, every answer of its route, included), a changed byte or another key is refused, and a consumer
/// batch is not read as one, nor one as a consumer batch.
/// </summary>
[Trait("Issue", "21")]
[Trait("Issue", "23")]
public sealed class CachePurgeBatchTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static readonly CachePurgeBatch Batch = new("edge-1", 4, 9, Start: false, Missed: true, At, [("items-get", "/items/7"), ("items-list", null)]);

    [Fact]
    public void Verify_SignedWithThePinnedKey_GivesTheBatchBack()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var pinned = PublicOnly(key);
        var (batch, refusal) = CachePurgeBatch.Verify(Batch.Sign(key), pinned);
        Assert.Null(refusal);
        Assert.Equal(("edge-1", 4L, 9L, false, true, At), (batch!.Node, batch.After, batch.Seq, batch.Start, batch.Missed, batch.IssuedAt));
        Assert.Equal([("items-get", "/items/7"), ("items-list", (string?)null)], batch.Purges);
    }

    [Fact]
    public void Verify_AFlippedByte_AnotherKey_OrAnotherKind_IsRefused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var pinned = PublicOnly(key);
        var envelope = JsonNode.Parse(Batch.Sign(key))!.AsObject();
        var payload = Convert.FromBase64String((string)envelope["payload"]!);
        payload[payload.Length / 2] ^= 0x01;
        envelope["payload"] = Convert.ToBase64String(payload);

        Assert.Equal("bad-signature", CachePurgeBatch.Verify(System.Text.Encoding.UTF8.GetBytes(envelope.ToJsonString()), pinned).Refusal!.Code);
        Assert.Equal("unknown-key", CachePurgeBatch.Verify(Batch.Sign(other), pinned).Refusal!.Code);
        var consumers = new ConsumerBatch(4, 9, false, At, [], []).Sign(key);
        Assert.Equal("malformed", CachePurgeBatch.Verify(consumers, pinned).Refusal!.Code);
        Assert.Equal("malformed", ConsumerBatch.Verify(Batch.Sign(key), pinned).Refusal!.Code);
    }

    private static ECDsa PublicOnly(ECDsa key)
    {
        var pinned = ECDsa.Create();
        pinned.ImportSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
        return pinned;
    }
}
