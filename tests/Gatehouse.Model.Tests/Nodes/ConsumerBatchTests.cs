using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;
using Gatehouse.Model.Nodes;
using Gatehouse.Model.Registrations;

namespace Gatehouse.Model.Tests.Nodes;

/// <summary>
/// The signed consumer batches and registration sets hybrid data nodes verify (issue 21): they come back whole under the
/// pinned key, a changed byte or another key is refused, and one kind of signed payload is never read as another.
/// </summary>
[Trait("Issue", "21")]
public sealed class ConsumerBatchTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static readonly ConsumerBatch Batch = new(4, 9, false, At,
        [
            new ConsumerApplication("app-1", "acc-1", "retail", ApplicationState.Suspended, [new ConsumerKey(new string('a', 64), "ghk_1a2b", At, At.AddDays(30))]),
            new ConsumerApplication("app-2", "acc-1", "retail", ApplicationState.Live, [], ["shop-spa", "shop-backend"], ["203.0.113.7", "10.20.0.0/16"]),
        ],
        ["app-0"]);

    [Fact]
    public void Verify_SignedWithThePinnedKey_GivesTheBatchBack()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var (batch, refusal) = ConsumerBatch.Verify(Batch.Sign(key), PublicOnly(key));
        Assert.Null(refusal);
        Assert.Equal((4, 9, false, At), (batch!.After, batch.Seq, batch.Full, batch.IssuedAt));
        Assert.Equal(2, batch.Applications.Count);
        var application = batch.Applications[0];
        Assert.Equal(("app-1", "acc-1", "retail", ApplicationState.Suspended), (application.Id, application.Account, application.Plan, application.State));
        Assert.Equal(Batch.Applications[0].Keys, application.Keys);
        Assert.Null(application.ClientIds);
        Assert.Equal(["shop-spa", "shop-backend"], batch.Applications[1].ClientIds); // OAuth client ids travel too
        Assert.Null(application.AllowedAddresses);
        Assert.Equal(["203.0.113.7", "10.20.0.0/16"], batch.Applications[1].AllowedAddresses); // and the owner's allowed addresses
        Assert.Equal(["app-0"], batch.Removed);
    }

    [Fact]
    public void Verify_AFlippedByte_OrAnotherKey_IsRefused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var pinned = PublicOnly(key);
        var envelope = JsonNode.Parse(Batch.Sign(key))!.AsObject();
        var payload = Convert.FromBase64String((string)envelope["payload"]!);
        payload[payload.Length / 2] ^= 0x01;
        envelope["payload"] = Convert.ToBase64String(payload);

        Assert.Equal("bad-signature", ConsumerBatch.Verify(System.Text.Encoding.UTF8.GetBytes(envelope.ToJsonString()), pinned).Refusal!.Code);
        Assert.Equal("unknown-key", ConsumerBatch.Verify(Batch.Sign(other), pinned).Refusal!.Code);
    }

    [Fact]
    public void Verify_OneKindOfSignedPayload_IsNotReadAsAnother()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var pinned = PublicOnly(key);
        var snapshot = new SignedSnapshot(3, At, "{\"version\":1}").Sign(key);
        var registrations = new RegistrationSet(At, new Dictionary<string, IReadOnlyList<RegisteredTarget>>
        {
            ["users"] = [new RegisteredTarget(new Uri("http://10.0.0.7:8080/"), At.AddSeconds(30))],
        }).Sign(key);
        var batch = Batch.Sign(key);

        Assert.Equal("malformed", ConsumerBatch.Verify(snapshot, pinned).Refusal!.Code);
        Assert.Equal("malformed", ConsumerBatch.Verify(registrations, pinned).Refusal!.Code);
        Assert.Equal("malformed", RegistrationSet.Verify(batch, pinned).Refusal!.Code);
        Assert.Equal("malformed", SignedSnapshot.Verify(batch, pinned).Refusal!.Code);
        var (set, refusal) = RegistrationSet.Verify(registrations, pinned);
        Assert.Null(refusal);
        Assert.Equal(new Uri("http://10.0.0.7:8080/"), Assert.Single(set!.Services["users"]).Url);
    }

    private static ECDsa PublicOnly(ECDsa key)
    {
        var pinned = ECDsa.Create();
        pinned.ImportSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
        return pinned;
    }
}
