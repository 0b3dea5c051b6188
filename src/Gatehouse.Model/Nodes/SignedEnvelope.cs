using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Nodes;

/// <summary>
/// The signed wrapper of everything a control plane hands a hybrid data node (config snapshots, consumer batches,
/// registrations): <c>{"format":1,"keyId":"…","signature":"base64","payload":"base64"}</c>, ECDSA P-256 with SHA-256
/// (IEEE P1363 form) over the payload's bytes exactly. Each payload names what it is, so one kind is never read as
/// another: a snapshot's payload has <c>config</c>, the others a <c>kind</c>.
/// </summary>
public static class SignedEnvelope
{
    /// <summary>The envelope's format version.</summary>
    public const int Format = 1;

    /// <summary>The key id of <paramref name="key"/>: hex SHA-256 of its SubjectPublicKeyInfo.</summary>
    public static string KeyId(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
    }

    /// <summary>The envelope of <paramref name="payload"/>, signed with <paramref name="key"/> (a private P-256 key).</summary>
    public static byte[] Sign(byte[] payload, ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(key);
        var signature = key.SignData(payload, HashAlgorithmName.SHA256);
        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["format"] = Format,
            ["keyId"] = KeyId(key),
            ["signature"] = Convert.ToBase64String(signature),
            ["payload"] = Convert.ToBase64String(payload),
        });
    }

    /// <summary>
    /// The payload of <paramref name="envelope"/> when its signature holds under the pinned public key
    /// <paramref name="pinned"/>, else why not (<c>malformed</c>, <c>unknown-key</c>, <c>bad-signature</c>; never an exception).
    /// </summary>
    public static (byte[]? Payload, SnapshotRefusal? Refusal) Verify(ReadOnlySpan<byte> envelope, ECDsa pinned)
    {
        ArgumentNullException.ThrowIfNull(pinned);
        byte[] payload;
        byte[] signature;
        string? keyId;
        try
        {
            var root = JsonNode.Parse(envelope)?.AsObject() ?? throw new FormatException("not an object");
            if ((int?)root["format"] != Format)
            {
                return (null, new SnapshotRefusal("malformed", $"format {root["format"]?.ToJsonString() ?? "missing"}, expected {Format}"));
            }

            keyId = (string?)root["keyId"];
            signature = Convert.FromBase64String((string?)root["signature"] ?? throw new FormatException("no signature"));
            payload = Convert.FromBase64String((string?)root["payload"] ?? throw new FormatException("no payload"));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            return (null, new SnapshotRefusal("malformed", "the answer is not a signed envelope: " + e.Message));
        }

        var expected = KeyId(pinned);
        if (!string.Equals(keyId, expected, StringComparison.Ordinal))
        {
            return (null, new SnapshotRefusal("unknown-key", $"signed by key {keyId ?? "(none)"}, not the pinned key {expected}"));
        }

        if (!pinned.VerifyData(payload, signature, HashAlgorithmName.SHA256))
        {
            return (null, new SnapshotRefusal("bad-signature", "the signature does not match the answer's bytes under the pinned key"));
        }

        return (payload, null);
    }

    /// <summary>
    /// The payload of <paramref name="envelope"/> read by <paramref name="read"/> when it is signed by
    /// <paramref name="pinned"/> and names <paramref name="kind"/> (so one signed kind is never read as another); else why
    /// not. <paramref name="what"/> names the kind in the refusal ("a consumer batch").
    /// </summary>
    public static (T? Value, SnapshotRefusal? Refusal) Open<T>(ReadOnlySpan<byte> envelope, ECDsa pinned, string kind, string what, Func<JsonObject, T> read)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(read);
        var (payload, refusal) = Verify(envelope, pinned);
        if (payload is null)
        {
            return (null, refusal);
        }

        try
        {
            var body = JsonNode.Parse(payload)!.AsObject();
            if ((string?)body["kind"] != kind)
            {
                return (null, new SnapshotRefusal("malformed", $"the signed payload is not {what} (kind {body["kind"]?.ToJsonString() ?? "missing"})"));
            }

            return (read(body), null);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException or ArgumentException)
        {
            return (null, new SnapshotRefusal("malformed", $"the signed payload is not {what}: " + e.Message));
        }
    }
}
