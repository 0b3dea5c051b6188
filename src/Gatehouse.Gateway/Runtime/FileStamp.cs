namespace Gatehouse.Gateway.Runtime;

/// <summary>
/// What says that a file changed without reading it: its time and size, and for a link (a mounted Kubernetes secret is
/// one, swapped to a new target on renewal) the file it ends at. Used for the certificate files that are read again
/// when they change: listeners' and services' TLS files.
/// </summary>
internal readonly record struct FileStamp(DateTime Written, long Length, string? Target)
{
    /// <summary>The stamp of <paramref name="path"/>; throws <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when it cannot be looked at.</summary>
    public static FileStamp Of(string path)
    {
        var file = new FileInfo(path);
        var target = file.LinkTarget is null ? null : File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName;
        var final = target is null ? file : new FileInfo(target);
        return new FileStamp(final.LastWriteTimeUtc, final.Exists ? final.Length : -1, target);
    }

    /// <summary>As <see cref="Of"/>, with "unreadable" for a file that cannot be looked at (its loading says why).</summary>
    public static string Describe(string path)
    {
        try
        {
            var stamp = Of(path);
            return $"{stamp.Written.Ticks}:{stamp.Length}:{stamp.Target}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unreadable";
        }
    }
}
