using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Compresses the route's responses with Brotli or gzip, whichever the client's <c>Accept-Encoding</c> prefers, when
/// their type is listed and the service did not encode them itself (a service's own <c>Content-Encoding</c> is passed
/// through as it is). <c>Vary: Accept-Encoding</c> is added. Streamed responses stay streamed: each flush of the service's
/// answer is a flush of the compressed one. Applies to what the route answers after authentication (the service's
/// answers, cache hits, validation problems). Over HTTPS, do not compress responses that hold a secret beside text an
/// attacker can choose (BREACH); keep this policy off such routes.
/// </summary>
public sealed record CompressConfig
{
    /// <summary>Whether responses are compressed; <c>false</c> switches a service's default off on one route.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Media types compressed (<c>type/subtype</c>, or <c>type/*</c> for all of a type), matched without their parameters.</summary>
    [DefaultText("text/plain, text/css, text/html, text/xml, text/json, application/json, application/xml, application/javascript, application/wasm")]
    public IReadOnlyList<string>? Types { get; init; }

    /// <summary>Speed against size: <c>fastest</c> costs the least CPU per response, <c>smallest</c> the least bytes.</summary>
    public CompressLevel Level { get; init; } = CompressLevel.Fastest;
}

/// <summary>How hard a response is compressed.</summary>
public enum CompressLevel
{
    /// <summary>The least CPU per response (Brotli and gzip at their fastest settings).</summary>
    Fastest,
    /// <summary>A balance of CPU and size.</summary>
    Optimal,
    /// <summary>The fewest bytes, at several times the CPU.</summary>
    Smallest,
}
