using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Runtime;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Composition;

/// <summary>Runs the composition of a route, after the route's access steps, instead of the forwarder.</summary>
internal sealed class CompositionExecutor(GatewayRuntime runtime)
{
    public Task RunAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId, Admission admission) =>
        new CompositionRun(route.Composition!, context, snapshot, runtime, captures, path, requestId, admission).ExecuteAsync();
}
