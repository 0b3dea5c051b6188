using System.Security.Cryptography;

namespace Gatehouse.Management.Nodes;

/// <summary>
/// The control plane's signing key for the snapshots hybrid data nodes fetch: an ECDSA P-256 key in a PEM file
/// (PKCS#8), generated on first use with owner-only permissions. Every control plane of one deployment uses the same
/// file; data nodes pin its public key (<see cref="PublicKeyPem"/>).
/// </summary>
public sealed class SnapshotSigner : IDisposable
{
    private SnapshotSigner(ECDsa key, bool generated)
    {
        Key = key;
        Generated = generated;
        PublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
        KeyId = Model.Nodes.SignedSnapshot.KeyId(key);
    }

    internal ECDsa Key { get; }

    /// <summary>Whether this start generated the key file.</summary>
    public bool Generated { get; }

    /// <summary>The public key as PEM, what a data node pins (<c>--control-plane-key</c>).</summary>
    public string PublicKeyPem { get; }

    /// <summary>Hex SHA-256 of the public key's SubjectPublicKeyInfo.</summary>
    public string KeyId { get; }

    /// <summary>Loads the key in <paramref name="path"/>, or generates one there when the file does not exist.</summary>
    /// <exception cref="ArgumentException">The file is not a PEM P-256 private key.</exception>
    public static SnapshotSigner LoadOrCreate(string path)
    {
        var key = ECDsa.Create();
        try
        {
            if (File.Exists(path))
            {
                key.ImportFromPem(File.ReadAllText(path));
                if (key.KeySize != 256)
                {
                    throw new ArgumentException($"The signing key {path} is a {key.KeySize}-bit EC key; use a P-256 key (or delete the file to have one generated).");
                }

                return new SnapshotSigner(key, generated: false);
            }

            key.GenerateKey(ECCurve.NamedCurves.nistP256);
            var temp = path + ".tmp";
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var file = new FileStream(temp, create))
            using (var writer = new StreamWriter(file))
            {
                writer.Write(key.ExportPkcs8PrivateKeyPem());
                writer.Flush();
                file.Flush(flushToDisk: true);
            }

            File.Move(temp, path);
            File.WriteAllText(Path.ChangeExtension(path, ".pub.pem"), key.ExportSubjectPublicKeyInfoPem());
            return new SnapshotSigner(key, generated: true);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new ArgumentException($"The signing key {path} is not a PEM EC private key ({e.Message.TrimEnd('.')}); fix it, or delete it to have one generated.", e);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public void Dispose() => Key.Dispose();
}
