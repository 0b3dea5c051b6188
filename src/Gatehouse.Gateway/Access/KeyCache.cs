using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Blake3;

namespace Gatehouse.Gateway.Access;

/// <summary>
/// The API keys authenticated lately, found again by a keyed BLAKE3 of the presented key instead of its SHA-256 (issue 25:
/// SHA-256 through OpenSSL's EVP is about 0.37 µs a request, the largest part of key authentication; the managed,
/// vectorised BLAKE3 of the <c>Blake3</c> package is about 0.14 µs, and a hit also skips the hex form and its string hash).
/// <para>
/// What it holds is no weaker than the SHA-256 table beside it: no plaintext key is kept past its request; an entry is a
/// 256-bit keyed BLAKE3 digest (a cryptographic hash, collision-resistant even to someone who has read the process's
/// secret, so nobody can make a different key that lands on a cached one), and only keys that authenticated are put in,
/// so unknown keys cannot fill it or lengthen anything. The per-process secret keeps the digests useless outside this
/// process. It is direct-mapped (one entry per slot, a newer key replaces an older one) and bounded:
/// <see cref="Slots"/> references and the entries they hold.
/// </para>
/// <para>
/// An entry answers only for the <see cref="AccessModel"/> (config snapshot) it was found in, so a reload that revokes,
/// adds or changes a key misses once and looks it up again; a portal key answers only while the directory still holds
/// that exact key entry (<see cref="ConsumerDirectory"/> retires an entry it removes or replaces). Expiry is checked
/// against the clock on every request, as on the uncached path.
/// </para>
/// </summary>
internal sealed class KeyCache
{
    /// <summary>Slots: a power of two. 16,384 references (128 KiB) and at most as many entries of about 80 bytes.</summary>
    public const int Slots = 16_384;

    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);

    // A keyed hasher per thread, reset for each key: making one costs about as much as the hash itself.
    [ThreadStatic]
    private static Hasher? t_hasher;

    private readonly Entry?[] _slots = new Entry?[Slots];

    /// <summary>The keyed digest of a key's UTF-8 bytes.</summary>
    public static Digest DigestOf(ReadOnlySpan<byte> utf8Key)
    {
        var hasher = t_hasher ??= Hasher.NewKeyed(Secret);
        hasher.Reset();
        hasher.Update(utf8Key);
        Span<byte> output = stackalloc byte[32];
        hasher.Finalize(output);
        return MemoryMarshal.Read<Digest>(output);
    }

    /// <summary>
    /// The application and expiry cached for <paramref name="digest"/> under <paramref name="model"/>; false when there is
    /// none, it was found under another snapshot, or its portal key has been revoked or replaced since.
    /// </summary>
    public bool TryGet(in Digest digest, AccessModel model, out ApplicationModel? application, out long expiresUtcTicks)
    {
        var entry = Volatile.Read(ref _slots[(int)digest.A & (Slots - 1)]);
        if (entry is not null && entry.Digest == digest && entry.Generation == model.Generation)
        {
            if (entry.Portal is null)
            {
                (application, expiresUtcTicks) = (entry.Application, entry.ExpiresUtcTicks);
                return true;
            }

            if (ConsumerDirectory.Revalidate(entry.Portal, model, out application, out expiresUtcTicks))
            {
                return true;
            }
        }

        (application, expiresUtcTicks) = (null, 0);
        return false;
    }

    /// <summary>Remembers a key found in <paramref name="model"/>'s own keys.</summary>
    public void Put(in Digest digest, AccessModel model, ApplicationModel application, long expiresUtcTicks) =>
        Volatile.Write(ref _slots[(int)digest.A & (Slots - 1)], new Entry(digest, model.Generation, application, expiresUtcTicks, null));

    /// <summary>Remembers a key found in the portal's directory; <paramref name="portal"/> is the directory's key entry.</summary>
    public void PutPortal(in Digest digest, AccessModel model, object portal) =>
        Volatile.Write(ref _slots[(int)digest.A & (Slots - 1)], new Entry(digest, model.Generation, null, 0, portal));

    /// <summary>Entries held now (a scan; for tests).</summary>
    public int Count => _slots.Count(slot => slot is not null);

    /// <summary>A 256-bit digest as four words, compared by value.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public readonly record struct Digest(ulong A, ulong B, ulong C, ulong D);

    // The model is remembered by its generation, not held: an entry left over from an old revision (a key not used since)
    // must not keep that revision's whole model alive.
    private sealed class Entry(Digest digest, long generation, ApplicationModel? application, long expiresUtcTicks, object? portal)
    {
        public readonly Digest Digest = digest;
        public readonly long Generation = generation;
        public readonly ApplicationModel? Application = application;
        public readonly long ExpiresUtcTicks = expiresUtcTicks;
        public readonly object? Portal = portal;
    }
}
