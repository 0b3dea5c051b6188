using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>A service needs targets or a registration; its operations come from the hand-written operations reader.</summary>
internal sealed class ServiceRules : BindingRules<ServiceConfig>
{
    protected override ServiceConfig? Check(ServiceConfig service, BindingScope scope)
    {
        if (service.Kind == ServiceKind.Ai || scope.Has("ai"))
        {
            return CheckAi(service, scope);
        }

        if (!scope.Has("targets") && !scope.Has("registration"))
        {
            scope.B.Error(scope.At("targets"), scope.Node, "a service needs 'targets', e.g. 'targets: [http://127.0.0.1:5001]', or 'registration' for instances that register themselves.");
        }

        if (scope.Has("hash") && service.LoadBalancing != LoadBalancingPolicy.Hash && !scope.Failed("loadBalancing"))
        {
            scope.Error("hash", "'hash' says what 'loadBalancing: hash' hashes; add 'loadBalancing: hash', or remove 'hash'.");
        }

        // openapi, operations and publish feed OpenAPI import, which keeps their source lines for its own errors.
        return scope.Binder.Operations.Read(scope.Name ?? "", scope.Map, scope.Path, service);
    }

    /// <summary>An <c>ai</c> service is its providers and aliases; the keys of an HTTP API do not apply to it.</summary>
    private static ServiceConfig? CheckAi(ServiceConfig service, BindingScope scope)
    {
        if (service.Kind != ServiceKind.Ai)
        {
            scope.Error("ai", "'ai' describes a service of 'kind: ai'; add 'kind: ai', or remove 'ai'.");
            return null;
        }

        if (!scope.Has("ai"))
        {
            scope.Error("ai", "a service of 'kind: ai' needs 'ai', its providers and model aliases, e.g. 'ai: { providers: { local: { url: http://127.0.0.1:11434/v1 } }, models: { fast: [ { provider: local, model: llama3 } ] } }'.");
            return null;
        }

        var ok = service.Ai is not null;
        foreach (var key in new[] { "targets", "openapi", "operations", "publish", "registration", "credential", "healthCheck" })
        {
            if (scope.Has(key))
            {
                scope.Error(key, $"a service of 'kind: ai' has no '{key}': its providers are under 'ai.providers'; remove '{key}'.");
                ok = false;
            }
        }

        return ok ? service : null;
    }
}
