using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Registrations;

namespace Gatehouse.Model.Nodes;

/// <summary>
/// Every live self-registered target as a control plane hands them to a hybrid data node, signed like a snapshot
/// (<see cref="SignedEnvelope"/>): a forged set would send traffic to a target of the forger's choosing. The payload is
/// <c>{"kind":"registrations","issuedAt","targets":[{"service","url","expiresAt"}]}</c>. A node keeps the newest set by
/// <see cref="IssuedAt"/>, so an older one replayed changes nothing.
/// </summary>
public sealed record RegistrationSet(DateTimeOffset IssuedAt, IReadOnlyDictionary<string, IReadOnlyList<RegisteredTarget>> Services)
{
    /// <summary>The payload's <c>kind</c>.</summary>
    public const string Kind = "registrations";

    /// <summary>The signed envelope of this set.</summary>
    public byte[] Sign(ECDsa key)
    {
        var targets = new JsonArray();
        foreach (var (service, list) in Services)
        {
            foreach (var target in list)
            {
                targets.Add(new JsonObject { ["service"] = service, ["url"] = target.Url.AbsoluteUri, ["expiresAt"] = target.ExpiresAt });
            }
        }

        var payload = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["kind"] = Kind, ["issuedAt"] = IssuedAt, ["targets"] = targets });
        return SignedEnvelope.Sign(payload, key);
    }

    /// <summary>The set in <paramref name="envelope"/> when it is signed by <paramref name="pinned"/> and is a registration set; else why not.</summary>
    public static (RegistrationSet? Set, SnapshotRefusal? Refusal) Verify(ReadOnlySpan<byte> envelope, ECDsa pinned) =>
        SignedEnvelope.Open(envelope, pinned, Kind, "a registration set", body =>
        {
            var services = new Dictionary<string, List<RegisteredTarget>>(StringComparer.Ordinal);
            foreach (var item in body["targets"]!.AsArray())
            {
                var service = (string)item!["service"]!;
                if (!services.TryGetValue(service, out var list))
                {
                    services[service] = list = [];
                }

                list.Add(new RegisteredTarget(new Uri((string)item["url"]!, UriKind.Absolute), (DateTimeOffset)item["expiresAt"]!));
            }

            return new RegistrationSet((DateTimeOffset)body["issuedAt"]!, services.ToDictionary(s => s.Key, s => (IReadOnlyList<RegisteredTarget>)s.Value, StringComparer.Ordinal));
        });
}
