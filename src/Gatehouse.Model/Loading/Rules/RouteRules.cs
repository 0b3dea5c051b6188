using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>
/// A route is bound to a service (and then needs a path) or to an operation, whose service, methods and upstream path
/// it takes: writing them too would be a second, possibly contradicting, source of truth.
/// </summary>
internal sealed class RouteRules : BindingRules<RouteConfig>
{
    private static readonly string[] FromOperation = ["service", "methods", "upstreamPath"];

    protected override RouteConfig? Check(RouteConfig route, BindingScope scope)
    {
        if (scope.Has("operation"))
        {
            if (route.Operation is not { } operation)
            {
                return null;
            }

            foreach (var key in FromOperation)
            {
                if (scope.Has(key))
                {
                    scope.Error(key, $"'{key}' comes from operation '{operation}' for a route bound to it; remove '{key}', or bind the route to 'service' instead of 'operation'.");
                }
            }

            return scope.Failed("path") ? null : route with { Service = null, Methods = [], UpstreamPath = null };
        }

        if (!scope.Has("path"))
        {
            scope.Error("path", "'path' is required here.");
        }

        if (!scope.Has("service"))
        {
            scope.Error("service", "'service' is required: the service that serves the route; or give 'operation' instead, the id of the operation it serves.");
        }

        return route.Path is null || route.Service is null ? null : route;
    }
}
