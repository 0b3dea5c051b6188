namespace Gatehouse.Management.Consumers;

// How much one account may send through the portal's try-it console: a setting beside the portal's others, so that
// PUT /admin/portal/settings and the console change it as they change them.
internal sealed partial class ConsumerService
{
    /// <summary>The portal setting that caps the calls one account sends through try it, per minute.</summary>
    public const string TryItPerMinuteSetting = "portal.tryItPerMinute";

    /// <summary>
    /// The cap when none is set: a person exploring an API clicks far fewer; a script that loops through the portal's
    /// address (which the gateway sees instead of its own, past IP filters that trust the portal) is stopped.
    /// </summary>
    public const int DefaultTryItPerMinute = 60;

    /// <summary>The highest cap the setting takes.</summary>
    public const int TryItPerMinuteCeiling = 10_000;

    /// <summary>How many calls one account may send through try it in a minute (<see cref="TryItPerMinuteSetting"/>).</summary>
    public Task<int> TryItPerMinuteAsync(CancellationToken cancellationToken) =>
        CountSettingAsync(TryItPerMinuteSetting, TryItPerMinuteCeiling, DefaultTryItPerMinute, cancellationToken);
}
