using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Nodes;

/// <summary>
/// A revision of the configuration as a control plane hands it to a hybrid data node: a signed, versioned document.
/// The wire form is <c>{"format":1,"keyId":"…","signature":"base64","payload":"base64"}</c>, where the payload is the
/// UTF-8 JSON <c>{"revision":N,"issuedAt":"…","config":"the config document"}</c> and the signature is ECDSA P-256 with
/// SHA-256 (IEEE P1363 form) over the payload's bytes exactly. The key id is the SHA-256 of the public key's
/// SubjectPublicKeyInfo, in hex. The config document is the stored resources as written: service credentials are
/// environment references that each node resolves (<c>${NAME}</c>), never values.
/// </summary>
/// <remarks>
/// .NET's own <see cref="ECDsa"/> signs and verifies; the envelope is a few lines of JSON rather than COSE or JWS because
/// nothing but Gatehouse reads it, and a byte-exact payload keeps "what was signed" and "what is loaded" the same bytes.
/// </remarks>
public sealed record SignedSnapshot(long Revision, DateTimeOffset IssuedAt, string Config)
{
    /// <summary>The envelope's format version.</summary>
    public const int Format = SignedEnvelope.Format;

    /// <summary>The key id of <paramref name="key"/>: hex SHA-256 of its SubjectPublicKeyInfo.</summary>
    public static string KeyId(ECDsa key) => SignedEnvelope.KeyId(key);

    /// <summary>The envelope of this snapshot, signed with <paramref name="key"/> (a private P-256 key).</summary>
    public byte[] Sign(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var payload = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["revision"] = Revision,
            ["issuedAt"] = IssuedAt,
            ["config"] = Config,
        });
        return SignedEnvelope.Sign(payload, key);
    }

    /// <summary>
    /// Checks <paramref name="envelope"/> against the pinned public key <paramref name="pinned"/>; the snapshot when the
    /// signature holds, else why not (one of <see cref="SnapshotRefusal"/>'s reasons, never an exception).
    /// </summary>
    public static (SignedSnapshot? Snapshot, SnapshotRefusal? Refusal) Verify(ReadOnlySpan<byte> envelope, ECDsa pinned)
    {
        var (payload, refusal) = SignedEnvelope.Verify(envelope, pinned);
        if (payload is null)
        {
            return (null, refusal);
        }

        try
        {
            var body = JsonNode.Parse(payload)!.AsObject();
            return (new SignedSnapshot((long)body["revision"]!, (DateTimeOffset)body["issuedAt"]!, (string)body["config"]!), null);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException)
        {
            // Signed by the pinned key yet unreadable: a control plane of another format version, or another kind of payload.
            return (null, new SnapshotRefusal("malformed", "the signed payload is not a snapshot: " + e.Message));
        }
    }

    /// <summary>Reads a public key given as PEM (<c>-----BEGIN PUBLIC KEY-----</c>) text.</summary>
    /// <exception cref="ArgumentException">The text is not a P-256 public key.</exception>
    public static ECDsa PublicKeyFromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256)
            {
                throw new ArgumentException($"The control plane's key is a {key.KeySize}-bit EC key; Gatehouse signs with P-256.");
            }

            return key;
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new ArgumentException($"The control plane's public key is not a PEM EC public key ({e.Message.TrimEnd('.')}).", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}

/// <summary>Why a node refused a snapshot: a stable code (<c>malformed</c>, <c>unknown-key</c>, <c>bad-signature</c>, <c>rollback</c>, <c>invalid-config</c>) and a sentence.</summary>
public sealed record SnapshotRefusal(string Code, string Detail);
