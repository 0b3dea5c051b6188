using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Checks requests (path, query and header parameters, JSON bodies) against the OpenAPI schemas of the operation the
/// route is bound to; a refusal is 400 <c>invalid-request</c> listing each error with its JSON pointer.
/// </summary>
public sealed record ValidationConfig
{
    /// <summary><c>enforce</c> refuses invalid requests; <c>shadow</c> counts and logs them and lets them through; <c>off</c>.</summary>
    public ValidationMode Request { get; init; } = ValidationMode.Enforce;

    /// <summary>Largest request body checked; a larger one gets 413 in <c>enforce</c> mode (it cannot pass unchecked).</summary>
    [Size]
    public long MaxBodySize { get; init; } = 1024 * 1024;

    /// <summary>
    /// <c>shadow</c> checks the service's JSON responses against the operation's response schema for their status
    /// (<c>200</c>, else <c>2XX</c>, else <c>default</c>), counting mismatches in
    /// <c>gatehouse.validation.response.mismatches</c> and logging the JSON pointer of the first error (never the body).
    /// The response is delivered unchanged; one larger than <c>maxBodySize</c> is not checked (counted in
    /// <c>gatehouse.validation.response.skipped</c>).
    /// </summary>
    public ResponseValidationMode Response { get; init; } = ResponseValidationMode.Off;
}

/// <summary>Whether the service's responses are checked. They are never refused: a client must not pay for the service's mistake.</summary>
public enum ResponseValidationMode
{
    /// <summary>Not checked.</summary>
    Off,
    /// <summary>Checked after they are sent; mismatches are counted and logged.</summary>
    Shadow,
}

/// <summary>Whether a validation refuses, only reports, or does not run.</summary>
public enum ValidationMode
{
    /// <summary>Refuses what does not fit.</summary>
    Enforce,
    /// <summary>Counts and logs what does not fit, and lets it through.</summary>
    Shadow,
    /// <summary>Does not check.</summary>
    Off,
}
