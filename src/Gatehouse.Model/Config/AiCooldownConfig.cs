using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// When a provider model is passed over for a while after it fails: so that a provider that is down, or out of quota,
/// does not cost every call its timeout before the alias's next provider model is tried. A provider model passed over
/// is tried last rather than never, so an alias whose every entry is cooling still calls them all.
/// </summary>
[EmptyAllowed]
public sealed record AiCooldownConfig
{
    /// <summary>
    /// Consecutive failed calls (429, 5xx, a timeout, a refused connection, a broken answer, all before anything reached
    /// the client) after which a provider model is passed over for <c>time</c>; <c>0</c> turns cooling off.
    /// </summary>
    [Minimum(0)]
    public int ConsecutiveFailures { get; init; } = 3;

    /// <summary>How long a provider model is passed over; once it is over, the next failure passes it over again at once.</summary>
    public TimeSpan Time { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A 429 whose <c>Retry-After</c> asks for up to this long passes the provider model over for that long at once (a
    /// longer one for this long); <c>0s</c> leaves 429s to count as failures like the rest.
    /// </summary>
    [ZeroAllowed]
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);
}
