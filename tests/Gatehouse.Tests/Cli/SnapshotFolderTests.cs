using System.Security.Cryptography;
using Gatehouse.Cli.Hybrid;
using Gatehouse.Model.Nodes;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>A hybrid node's last good configs on disk (issue 21): newest N kept, and a file altered on disk is not trusted.</summary>
[Trait("Issue", "21")]
public sealed class SnapshotFolderTests
{
    [Fact]
    public void Save_KeepsTheNewestFive_LeavesNoTemporaryFile_AndLoadNewestSkipsAFileAlteredOnDisk()
    {
        using var temp = new TempFolder();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var folder = new SnapshotFolder(Path.Combine(temp.Path, "node"));
        for (var revision = 1; revision <= 8; revision++)
        {
            folder.Save(revision, new SignedSnapshot(revision, DateTimeOffset.UtcNow, $"r{revision}").Sign(key));
        }

        Assert.Equal([8L, 7, 6, 5, 4], folder.Revisions().Select(r => r.Revision));
        Assert.Equal(5, Directory.GetFiles(folder.Path).Length);

        // Revision 8 altered on disk (one byte): the newest that still verifies, 7, is what a restart serves.
        var newest = folder.Revisions().First().File;
        var bytes = File.ReadAllBytes(newest);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(newest, bytes);
        var skipped = new List<string>();
        var loaded = folder.LoadNewest(key, s => s.Config, (file, _) => skipped.Add(file));
        Assert.Equal(7, loaded!.Value.Snapshot.Revision);
        Assert.Equal("r7", loaded.Value.Value);
        Assert.Equal([newest], skipped);
    }
}
