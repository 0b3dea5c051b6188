using System.Globalization;
using System.Security.Cryptography;
using Gatehouse.Model.Nodes;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// A hybrid data node's last good configs on disk: one file per revision (<c>snapshot-000000000042.json</c>, the signed
/// envelope exactly as received), the newest <see cref="Keep"/> kept. Each is written to a temporary file, flushed to
/// disk (fsync), then renamed over its name, so a crash leaves either the whole new file or none; owner-only
/// (<see cref="StateFiles"/>). Files are verified with the pinned key again when read: a file edited on disk is as
/// untrusted as a network answer.
/// </summary>
internal sealed class SnapshotFolder(string path)
{
    /// <summary>How many revisions are kept on disk (the newest and the ones before it).</summary>
    public const int Keep = 5;

    private const string Prefix = "snapshot-";

    public string Path { get; } = path;

    /// <summary>Stores the envelope of <paramref name="revision"/> atomically, then drops all but the newest <see cref="Keep"/>.</summary>
    public void Save(long revision, byte[] envelope)
    {
        // After a power loss the rename may be lost (StateFiles), which leaves the previous snapshot, still a good config
        // (the control plane sends the newer one again).
        StateFiles.WriteAtomically(System.IO.Path.Combine(Path, FileName(revision)), envelope);
        foreach (var old in Revisions().Skip(Keep))
        {
            File.Delete(old.File);
        }
    }

    /// <summary>
    /// The newest snapshot on disk whose signature holds under <paramref name="pinned"/> and whose config
    /// <paramref name="accept"/> takes; files that fail either are skipped (and reported through <paramref name="skipped"/>).
    /// </summary>
    public (SignedSnapshot Snapshot, T Value)? LoadNewest<T>(ECDsa pinned, Func<SignedSnapshot, T?> accept, Action<string, string> skipped)
        where T : class
    {
        foreach (var (revision, file) in Revisions())
        {
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(file);
            }
            catch (IOException e)
            {
                skipped(file, e.Message);
                continue;
            }

            var (snapshot, refusal) = SignedSnapshot.Verify(bytes, pinned);
            if (snapshot is null || snapshot.Revision != revision)
            {
                skipped(file, refusal?.Detail ?? $"it holds revision {snapshot!.Revision}, not {revision}");
                continue;
            }

            if (accept(snapshot) is { } value)
            {
                return (snapshot, value);
            }

            skipped(file, "its config does not load on this node");
        }

        return null;
    }

    /// <summary>The revisions on disk, newest first.</summary>
    public IEnumerable<(long Revision, string File)> Revisions()
    {
        if (!Directory.Exists(Path))
        {
            return [];
        }

        return Directory.EnumerateFiles(Path, Prefix + "*.json")
            .Select(file => (Ok: long.TryParse(System.IO.Path.GetFileNameWithoutExtension(file)[Prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var revision), Revision: revision, File: file))
            .Where(f => f.Ok)
            .OrderByDescending(f => f.Revision)
            .Select(f => (f.Revision, f.File))
            .ToList();
    }

    private static string FileName(long revision) => $"{Prefix}{revision.ToString("D12", CultureInfo.InvariantCulture)}.json";
}
