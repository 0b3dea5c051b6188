using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gatehouse.Model.Nodes;

namespace Gatehouse.Model.Tests.Nodes;

/// <summary>The snapshot envelope hybrid data nodes verify (issue 21): what holds, and each way it is refused.</summary>
[Trait("Issue", "21")]
public sealed class SignedSnapshotTests
{
    private static readonly SignedSnapshot Snapshot = new(7, new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero), "{\"version\":1}");

    [Fact]
    public void Verify_SignedWithThePinnedKey_GivesTheSnapshotBack()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (snapshot, refusal) = SignedSnapshot.Verify(Snapshot.Sign(key), PublicOnly(key));
        Assert.Null(refusal);
        Assert.Equal(Snapshot, snapshot);
    }

    [Fact]
    public void Verify_AnyFlippedBitOfThePayload_IsBadSignature()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var pinned = PublicOnly(key);
        var envelope = JsonNode.Parse(Snapshot.Sign(key))!.AsObject();
        var payload = Convert.FromBase64String((string)envelope["payload"]!);
        for (var i = 0; i < payload.Length; i++)
        {
            var tampered = (byte[])payload.Clone();
            tampered[i] ^= 0x01;
            envelope["payload"] = Convert.ToBase64String(tampered);
            var (snapshot, refusal) = SignedSnapshot.Verify(System.Text.Encoding.UTF8.GetBytes(envelope.ToJsonString()), pinned);
            Assert.Null(snapshot);
            Assert.Equal("bad-signature", refusal!.Code);
        }
    }

    [Fact]
    public void Verify_SignedByAnotherKey_IsUnknownKey_AndClaimingThePinnedKeyIsBadSignature()
    {
        using var pinnedKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var pinned = PublicOnly(pinnedKey);
        var signedByOther = Snapshot.Sign(other);
        Assert.Equal("unknown-key", SignedSnapshot.Verify(signedByOther, pinned).Refusal!.Code);

        var claiming = JsonNode.Parse(signedByOther)!.AsObject();
        claiming["keyId"] = SignedSnapshot.KeyId(pinnedKey);
        Assert.Equal("bad-signature", SignedSnapshot.Verify(System.Text.Encoding.UTF8.GetBytes(claiming.ToJsonString()), pinned).Refusal!.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("{\"format\":2}")]
    [InlineData("{\"format\":1,\"keyId\":\"x\",\"signature\":\"not base64!\",\"payload\":\"\"}")]
    public void Verify_NotAnEnvelope_IsMalformed_NeverAnException(string text)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal("malformed", SignedSnapshot.Verify(System.Text.Encoding.UTF8.GetBytes(text), key).Refusal!.Code);
    }

    [Fact]
    public void PublicKeyFromPem_RejectsAnotherCurve_WithASentence()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var error = Assert.Throws<ArgumentException>(() => SignedSnapshot.PublicKeyFromPem(p384.ExportSubjectPublicKeyInfoPem()));
        Assert.Contains("P-256", error.Message, StringComparison.Ordinal);
    }

    private static ECDsa PublicOnly(ECDsa key) => SignedSnapshot.PublicKeyFromPem(key.ExportSubjectPublicKeyInfoPem());
}
