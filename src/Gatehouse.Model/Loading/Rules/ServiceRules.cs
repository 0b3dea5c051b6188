using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>A service needs targets or a registration; its operations come from the hand-written operations reader.</summary>
internal sealed class ServiceRules : BindingRules<ServiceConfig>
{
    protected override ServiceConfig? Check(ServiceConfig service, BindingScope scope)
    {
        if (!scope.Has("targets") && !scope.Has("registration"))
        {
            scope.B.Error(scope.At("targets"), scope.Node, "a service needs 'targets', e.g. 'targets: [http://127.0.0.1:5001]', or 'registration' for instances that register themselves.");
        }

        // openapi, operations and publish feed OpenAPI import, which keeps their source lines for its own errors.
        return scope.Binder.Operations.Read(scope.Name ?? "", scope.Map, scope.Path, service);
    }
}
