namespace Gatehouse.Examples.Shop.Hosting;

/// <summary>The body of <c>GET /health</c>: <c>{"status":"ok"}</c> while the service can serve requests.</summary>
/// <param name="Status">Always <c>ok</c>; an unhealthy service does not answer at all.</param>
internal sealed record HealthStatus(string Status);
