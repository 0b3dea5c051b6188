using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Model.Nodes;

/// <summary>
/// Portal applications as a control plane hands them to a hybrid data node: every change after consumer sequence
/// <see cref="After"/> up to <see cref="Seq"/> (the whole set when <see cref="Full"/>), signed like a snapshot
/// (<see cref="SignedEnvelope"/>) because a forged batch would grant access. The payload is
/// <c>{"kind":"consumers","after","seq","full","issuedAt","applications":[…],"removed":[…]}</c>; keys travel as
/// SHA-256 hashes only, an application's OAuth client ids as <c>clientIds</c> and its owner's allowed addresses as
/// <c>allowedAddresses</c> when it has any.
/// </summary>
/// <param name="After">The sequence the batch starts after (0 for a full set).</param>
/// <param name="Seq">The newest consumer change it includes.</param>
/// <param name="Full">Whether it is the whole set (replace), not changes (apply on top).</param>
/// <param name="IssuedAt">When the control plane made it.</param>
/// <param name="Applications">Applications made or changed (their whole state).</param>
/// <param name="Removed">Ids of applications deleted.</param>
public sealed record ConsumerBatch(long After, long Seq, bool Full, DateTimeOffset IssuedAt, IReadOnlyList<ConsumerApplication> Applications, IReadOnlyList<string> Removed)
{
    /// <summary>The payload's <c>kind</c>.</summary>
    public const string Kind = "consumers";

    /// <summary>The signed envelope of this batch.</summary>
    public byte[] Sign(ECDsa key)
    {
        var applications = new JsonArray();
        foreach (var application in Applications)
        {
            var keys = new JsonArray();
            foreach (var k in application.Keys)
            {
                keys.Add(new JsonObject { ["sha256"] = k.Sha256, ["prefix"] = k.Prefix, ["createdAt"] = k.CreatedAt, ["expires"] = k.Expires });
            }

            applications.Add(new JsonObject
            {
                ["id"] = application.Id,
                ["account"] = application.Account,
                ["plan"] = application.Plan,
                ["state"] = application.State.ToString().ToLowerInvariant(),
                ["keys"] = keys,
            });
            if (application.ClientIds is { Count: > 0 } clientIds)
            {
                applications[^1]!["clientIds"] = new JsonArray([.. clientIds.Select(c => (JsonNode)c)]);
            }

            if (application.AllowedAddresses is { Count: > 0 } addresses)
            {
                applications[^1]!["allowedAddresses"] = new JsonArray([.. addresses.Select(a => (JsonNode)a)]);
            }
        }

        var payload = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["kind"] = Kind,
            ["after"] = After,
            ["seq"] = Seq,
            ["full"] = Full,
            ["issuedAt"] = IssuedAt,
            ["applications"] = applications,
            ["removed"] = new JsonArray([.. Removed.Select(r => (JsonNode)r)]),
        });
        return SignedEnvelope.Sign(payload, key);
    }

    /// <summary>The batch in <paramref name="envelope"/> when it is signed by <paramref name="pinned"/> and is a consumer batch; else why not.</summary>
    public static (ConsumerBatch? Batch, SnapshotRefusal? Refusal) Verify(ReadOnlySpan<byte> envelope, ECDsa pinned) =>
        SignedEnvelope.Open(envelope, pinned, Kind, "a consumer batch", body =>
        {
            var applications = new List<ConsumerApplication>();
            foreach (var item in body["applications"]!.AsArray())
            {
                var keys = item!["keys"]!.AsArray()
                    .Select(k => new ConsumerKey((string)k!["sha256"]!, (string)k["prefix"]!, (DateTimeOffset)k["createdAt"]!, (DateTimeOffset?)k["expires"]))
                    .ToList();
                var state = Enum.Parse<ApplicationState>((string)item["state"]!, ignoreCase: true);
                // clientIds is left out when there are none (and by control planes from before it).
                var clientIds = item["clientIds"] is JsonArray ids ? ids.Select(c => (string)c!).ToList() : null;
                var addresses = item["allowedAddresses"] is JsonArray allowed ? allowed.Select(a => (string)a!).ToList() : null;
                applications.Add(new ConsumerApplication((string)item["id"]!, (string)item["account"]!, (string)item["plan"]!, state, keys, clientIds, addresses));
            }

            var removed = body["removed"]!.AsArray().Select(r => (string)r!).ToList();
            return new ConsumerBatch((long)body["after"]!, (long)body["seq"]!, (bool)body["full"]!, (DateTimeOffset)body["issuedAt"]!, applications, removed);
        });
}
