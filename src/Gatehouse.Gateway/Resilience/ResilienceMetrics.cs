using System.Diagnostics.Metrics;

namespace Gatehouse.Gateway.Resilience;

/// <summary>
/// The resilience metrics (meter <c>Gatehouse.Resilience</c>). Tags are service names, route ids and fixed reason
/// words, never request values. With no listener each is one enabled check, and none is on a request that goes well.
/// </summary>
internal static class ResilienceMetrics
{
    private static readonly Meter Meter = new("Gatehouse.Resilience");

    /// <summary>Retries made, by service and reason (<c>connect-failure</c>, <c>reset</c>, <c>timeout</c>, a status code).</summary>
    internal static readonly Counter<long> Retries = Meter.CreateCounter<long>("gatehouse.retries", unit: "{retry}", description: "Retries made, by reason");

    /// <summary>Retries that were due but not made because the service's retry budget was spent.</summary>
    internal static readonly Counter<long> RetriesRefused = Meter.CreateCounter<long>("gatehouse.retries.refused", unit: "{retry}", description: "Retries not made because the retry budget was spent");

    /// <summary>Destinations ejected, by service and cause (<c>consecutive</c>, <c>rate</c>, <c>probe</c>).</summary>
    internal static readonly Counter<long> Ejections = Meter.CreateCounter<long>("gatehouse.outliers.ejections", unit: "{ejection}", description: "Destinations ejected");

    /// <summary>Ejections not made because the service's share of ejected destinations was at its cap.</summary>
    internal static readonly Counter<long> EjectionsCapped = Meter.CreateCounter<long>("gatehouse.outliers.ejections_capped", unit: "{ejection}", description: "Ejections skipped at maxEjectedPercent");

    /// <summary>Requests routed in panic mode (too few destinations available, so all of them were used).</summary>
    internal static readonly Counter<long> PanicRequests = Meter.CreateCounter<long>("gatehouse.outliers.panic_requests", unit: "{request}", description: "Requests spread over every destination in panic mode");

    /// <summary>Requests refused by <c>concurrency</c> limits (503 upstream-overloaded).</summary>
    internal static readonly Counter<long> Overloaded = Meter.CreateCounter<long>("gatehouse.upstream.overloaded", unit: "{request}", description: "Requests refused at a service's concurrency limit");

    /// <summary>Faults injected, by route and kind (<c>abort</c>, <c>delay</c>).</summary>
    internal static readonly Counter<long> FaultsInjected = Meter.CreateCounter<long>("gatehouse.faults.injected", unit: "{fault}", description: "Faults injected by route fault injection");

    public static void Retry(string service, string reason) => Add(Retries, service, "reason", reason);

    public static void Refused(string service) => Add(RetriesRefused, service, "reason", "budget");

    public static void Ejected(string service, string cause) => Add(Ejections, service, "cause", cause);

    public static void Capped(string service) => Add(EjectionsCapped, service, null, null);

    public static void Panic(string service) => Add(PanicRequests, service, null, null);

    public static void Overload(string service) => Add(Overloaded, service, null, null);

    public static void Fault(string route, string kind)
    {
        if (FaultsInjected.Enabled)
        {
            FaultsInjected.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("kind", kind));
        }
    }

    private static void Add(Counter<long> counter, string service, string? tag, string? value)
    {
        if (!counter.Enabled)
        {
            return;
        }

        if (tag is null)
        {
            counter.Add(1, new KeyValuePair<string, object?>("service", service));
        }
        else
        {
            counter.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>(tag, value));
        }
    }
}
