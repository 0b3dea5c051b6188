namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// How every file in a node's state folder is written: owner-only (0600, the folder 0700 when the node makes it), whole
/// files as a temporary file flushed to disk and renamed over the name, appends flushed before they count.
/// </summary>
/// <remarks>
/// The folder is the node's identity and its memory: <c>node-id</c> (its token is bound to it), <c>instance</c>, the
/// signed snapshots (the whole config, upstream addresses and all), the consumer set (every portal application and its
/// key hashes), the usage journal and its acknowledged sequence, the quota counts and the lock. Another local user who
/// can read them learns the key hashes and the config; one who can write them can make the node forget its usage. Left
/// to the umask (0644 on most systems) all but <c>node-id</c> were readable by every user of the host.
/// </remarks>
internal static class StateFiles
{
    /// <summary>Read and write for the owner alone.</summary>
    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Read, write and list for the owner alone.</summary>
    public const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Makes <paramref name="folder"/> (and its missing parents) owner-only when it is not there; a folder that is there
    /// keeps its mode, which its maker chose (a folder a package made for a service user and its group, say).
    /// </summary>
    public static void CreateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, OwnerOnlyFolder);
        }
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> as <paramref name="path"/>: a temporary file beside it (owner-only), flushed to
    /// disk, then renamed over it, so a crash leaves either the whole new file or the old one. Without
    /// <paramref name="overwrite"/> an existing file is kept and false returned (two processes that make the same file at
    /// once both end up with the one kept).
    /// </summary>
    public static bool WriteAtomically(string path, ReadOnlySpan<byte> bytes, bool overwrite = true)
    {
        var folder = Path.GetDirectoryName(path)!;
        CreateFolder(folder);
        // The process id keeps two writers' temporary files apart; a leftover of a crashed one is replaced, never reused
        // (opening it again would keep the mode it was made with).
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        File.Delete(temporary);
        using (var file = new FileStream(temporary, Options(FileMode.CreateNew, FileShare.None)))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        // rename(2) replaces atomically. .NET cannot fsync the folder itself; after a power loss the rename may be lost,
        // which leaves the previous file.
        try
        {
            File.Move(temporary, path, overwrite);
            return true;
        }
        catch (IOException) when (!overwrite && File.Exists(path))
        {
            File.Delete(temporary);
            return false;
        }
    }

    /// <summary>Opens <paramref name="path"/> to append to, made owner-only when it is not there.</summary>
    public static FileStream OpenAppend(string path, FileShare share) => new(path, Options(FileMode.Append, share));

    private static FileStreamOptions Options(FileMode mode, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = share };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }

        return options;
    }
}
