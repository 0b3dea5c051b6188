using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>A gRPC probe asks grpc.health.v1.Health/Check: a path or statuses written beside it would be ignored, so they are refused.</summary>
internal sealed class ActiveHealthCheckRules : BindingRules<ActiveHealthCheckConfig>
{
    protected override ActiveHealthCheckConfig? Check(ActiveHealthCheckConfig active, BindingScope scope)
    {
        if (!scope.Has("grpc"))
        {
            return active;
        }

        foreach (var key in new[] { "path", "statuses" })
        {
            if (scope.Has(key))
            {
                scope.Error(key, $"a gRPC probe calls grpc.health.v1.Health/Check and reads its SERVING status; '{key}' is for HTTP probes: remove it, or remove 'grpc'.");
            }
        }

        return active;
    }
}
