using Microsoft.Extensions.Primitives;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// The bytes a <see cref="CachedResponse"/> is kept as in a shared store: a version byte, then status, the four
/// moments (UTC ticks), whether it is shareable, the Vary rule, the headers and the body. A payload that does not read back (another version,
/// truncated) is treated as absent, never as an error.
/// </summary>
internal static class CachedResponseCodec
{
    // 2: Shareable after the moments. An entry of version 1 reads as absent (it did not say whether it is shareable).
    private const byte Version = 2;

    public static byte[] Encode(CachedResponse response)
    {
        using var stream = new MemoryStream(response.Body.Length + 256);
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(Version);
            writer.Write(response.Status);
            writer.Write(response.Born.UtcTicks);
            writer.Write(response.FreshUntil.UtcTicks);
            writer.Write(response.RevalidateUntil.UtcTicks);
            writer.Write(response.ErrorUntil.UtcTicks);
            writer.Write(response.Shareable);
            writer.Write(response.VaryNames?.Length ?? -1);
            foreach (var name in response.VaryNames ?? [])
            {
                writer.Write(name);
            }

            writer.Write(response.Headers.Length);
            foreach (var (name, values) in response.Headers)
            {
                writer.Write(name);
                writer.Write(values.Count);
                foreach (var value in values)
                {
                    writer.Write(value ?? "");
                }
            }

            writer.Write(response.Body.Length);
            writer.Write(response.Body);
        }

        return stream.ToArray();
    }

    public static CachedResponse? Decode(byte[] payload)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(payload, writable: false));
            if (reader.ReadByte() != Version)
            {
                return null;
            }

            var status = reader.ReadInt32();
            var born = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var fresh = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var revalidate = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var error = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var shareable = reader.ReadBoolean();
            var varyCount = reader.ReadInt32();
            string[]? vary = null;
            if (varyCount >= 0)
            {
                vary = new string[varyCount];
                for (var i = 0; i < varyCount; i++)
                {
                    vary[i] = reader.ReadString();
                }
            }

            var headers = new KeyValuePair<string, StringValues>[reader.ReadInt32()];
            for (var i = 0; i < headers.Length; i++)
            {
                var name = reader.ReadString();
                var values = new string[reader.ReadInt32()];
                for (var j = 0; j < values.Length; j++)
                {
                    values[j] = reader.ReadString();
                }

                headers[i] = new(name, new StringValues(values));
            }

            var body = reader.ReadBytes(reader.ReadInt32());
            return new CachedResponse
            {
                Status = status,
                Headers = headers,
                Body = body,
                Born = born,
                FreshUntil = fresh,
                RevalidateUntil = revalidate,
                ErrorUntil = error,
                Shareable = shareable,
                VaryNames = vary,
            };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or OverflowException)
        {
            return null;
        }
    }
}
