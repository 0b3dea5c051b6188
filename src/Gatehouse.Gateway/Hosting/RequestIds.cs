namespace Gatehouse.Gateway.Hosting;

/// <summary>The request ids the gateway makes when the client sent none: 32 lower-case hex digits.</summary>
internal static class RequestIds
{
    /// <summary>
    /// A new id: 128 bits from <see cref="Random.Shared"/> (a per-thread generator), which makes collisions as
    /// unlikely as with a random Guid. Not <c>Guid.NewGuid()</c>: on Linux that reads the kernel's random
    /// source, one system call per request (measured in bench/, see docs/benchmarks.md). A request id is for
    /// correlation and must not be treated as a secret.
    /// </summary>
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        return Convert.ToHexStringLower(bytes);
    }
}
