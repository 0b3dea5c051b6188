using System.Globalization;
using System.Text;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// One process per state folder: a node holds <c>lock</c> in its folder, opened without sharing (an advisory
/// <c>flock</c> on Linux and macOS, a sharing lock on Windows), for as long as it runs, and names itself in
/// <c>lock.holder</c>. The operating system lets go of the lock when the process ends, however it ends, so a node killed
/// with SIGKILL or a power cut leaves nothing to clean up.
/// </summary>
/// <remarks>
/// Two processes on one folder share its node id and its <c>instance</c>, so the control plane cannot tell them apart:
/// both replace the same snapshots and consumer set, append to one usage journal with the same sequence numbers (the
/// control plane applies each (node, sequence) once, so one's usage is lost), and count one quota file over. The holder
/// is written beside the lock, not in it, because a locked file cannot be read by another process through .NET.
/// </remarks>
internal sealed class StateFolderLock : IDisposable
{
    /// <summary>The file held for the process's life.</summary>
    public const string FileName = "lock";

    /// <summary>The file that names the process holding the lock.</summary>
    public const string HolderFileName = "lock.holder";

    private readonly FileStream _file;

    private StateFolderLock(FileStream file) => _file = file;

    /// <summary>
    /// Takes <paramref name="folder"/>'s lock, making the folder when it is not there; null, with a sentence naming the
    /// folder and the process that holds it, when another process does. Throws <see cref="IOException"/> or
    /// <see cref="UnauthorizedAccessException"/> when the folder cannot be written.
    /// </summary>
    /// <param name="folder">The state folder.</param>
    /// <param name="heldBy">Why this process cannot have it, as one line; null when it can.</param>
    /// <param name="shared">What two processes on the folder would share, for that line.</param>
    public static StateFolderLock? TryTake(string folder, out string? heldBy, string shared = "two nodes on one folder would share its node id and overwrite each other's files")
    {
        StateFiles.CreateFolder(folder);
        var path = Path.Combine(folder, FileName);
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = StateFiles.OwnerOnlyFile;
        }

        FileStream file;
        try
        {
            file = new FileStream(path, options);
        }
        catch (IOException e) when (IsHeld(e))
        {
            heldBy = $"--state-dir {folder} is in use by another Gatehouse process ({Holder(folder)}): {shared}. Stop that one, or give this one a folder of its own.";
            return null;
        }

        heldBy = null;
        var held = new StateFolderLock(file);
        try
        {
            var started = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
            StateFiles.WriteAtomically(Path.Combine(folder, HolderFileName), Encoding.UTF8.GetBytes($"pid {Environment.ProcessId} on {Environment.MachineName}, started {started}\n"));
        }
        catch
        {
            held.Dispose();
            throw;
        }

        return held;
    }

    // A lock held elsewhere: EWOULDBLOCK from flock on Unix, a sharing violation on Windows. Anything else (a folder this
    // user may not write) is not a second process and is thrown on.
    private static bool IsHeld(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 32 or 33 : e.HResult is 11 or 35 || e.Message.Contains("being used by another process", StringComparison.Ordinal);

    private static string Holder(string folder)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(folder, HolderFileName)).Trim();
            // Written by whichever process held the lock last; shown as written, cut short, never trusted beyond a line.
            return text.Length is > 0 and <= 200 && !text.Contains('\n', StringComparison.Ordinal) ? text : "unknown";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    public void Dispose() => _file.Dispose();
}
