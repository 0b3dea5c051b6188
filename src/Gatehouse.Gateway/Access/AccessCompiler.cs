using System.Collections.Frozen;
using Gatehouse.Gateway.Authentication;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Access;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Access;

/// <summary>Compiles the plans, applications and grants of a validated config into an <see cref="AccessModel"/>.</summary>
internal static class AccessCompiler
{
    /// <summary>Null when the config has no plans: then no route authenticates, authorizes or limits.</summary>
    public static AccessModel? Compile(GatehouseConfig config, LimitCounters counters, JwtValidator? jwt, TokenIntrospector? introspection = null)
    {
        if (config.Plans.Count == 0)
        {
            return null;
        }

        var plans = new List<PlanModel>();
        var grants = new List<PlanGrants>();
        var operationLimitSets = new List<Dictionary<string, LimitSet>>();
        foreach (var (name, plan) in config.Plans)
        {
            var key = $"plan:{name}";
            var planPolicies = plan.Limits.Select(l => LimitPolicy.Compile(key, l, counters)).ToArray();
            var planSet = planPolicies.Length == 0 ? LimitSet.Empty : new LimitSet(planPolicies);
            plans.Add(new PlanModel(name, plans.Count, plan.Mode == EnforcementMode.Shadow, planSet, plan.ServerTiming)
            {
                Cache = plan.Cache,
                CorsOrigins = plan.CorsOrigins.Count > 0 ? Policies.PolicyCompiler.Origins(plan.CorsOrigins) : null,
                IpFilter = Policies.IpFiltering.IpFilter.Compile(plan.IpFilter),
                Models = plan.Models is { } models ? System.Collections.Frozen.FrozenSet.ToFrozenSet(models, StringComparer.Ordinal) : null,
            });
            grants.Add(PlanGrants.Resolve(plan, config));

            // An operation's own limits come on top of the plan's, under names of their own ("users.getUser/minute").
            var byOperation = new Dictionary<string, LimitSet>(StringComparer.Ordinal);
            foreach (var (operation, limits) in plan.OperationLimits)
            {
                var own = limits.Select(l => LimitPolicy.Compile($"{key}/op:{operation}", l, counters, $"{operation}/{Model.Loading.Units.CamelCase(l.Per.ToString())}"));
                byOperation[operation] = new LimitSet(planPolicies.Concat(own));
            }

            operationLimitSets.Add(byOperation);
        }

        // Which plans grant an operation, for its access class, and with which limits.
        AccessTarget OperationTarget(string id, OperationConfig operation)
        {
            var read = new LimitSet?[plans.Count];
            var write = new LimitSet?[plans.Count];
            var table = operation.Access == OperationAccess.Read ? read : write;
            for (var i = 0; i < plans.Count; i++)
            {
                if (grants[i].Operations.TryGetValue(id, out var flags) && (flags & operation.Access.ToFlag()) != 0)
                {
                    table[i] = operationLimitSets[i].GetValueOrDefault(id) ?? plans[i].Limits;
                }
            }

            return new AccessTarget($"operation '{id}'", id, operation.Access, read, write, id) { Scopes = ScopeRequirement.Of(operation.RequireScopes) };
        }

        var operations = new Dictionary<string, AccessTarget>(StringComparer.Ordinal);
        foreach (var service in config.Services.Values)
        {
            foreach (var (id, operation) in service.Operations)
            {
                operations[id] = OperationTarget(id, operation);
            }
        }

        // A composition is an operation for plans: granted and limited by its operation id like any other.
        foreach (var (cid, composition) in config.Compositions)
        {
            var id = composition.OperationIdOf(cid);
            operations[id] = OperationTarget(id, composition.AsOperation());
        }

        var routes = new Dictionary<string, AccessTarget>(StringComparer.Ordinal);
        foreach (var (id, route) in config.Routes)
        {
            if (route.Operation is not null)
            {
                continue;
            }

            var read = new LimitSet?[plans.Count];
            var write = new LimitSet?[plans.Count];
            for (var i = 0; i < plans.Count; i++)
            {
                var flags = grants[i].Routes.GetValueOrDefault(id);
                read[i] = (flags & AccessFlags.Read) != 0 ? plans[i].Limits : null;
                write[i] = (flags & AccessFlags.Write) != 0 ? plans[i].Limits : null;
            }

            // A model call changes nothing at the provider: a route of an ai service is a read for plans, whatever its method.
            var isAi = route.Service is { } serviceName && config.Services.TryGetValue(serviceName, out var service) && service.Kind == ServiceKind.Ai;
            routes[id] = new AccessTarget($"route '{id}'", null, isAi ? OperationAccess.Read : null, read, write, "route:" + id) { Scopes = ScopeRequirement.Of(route.RequireScopes) };
        }

        var planByName = plans.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var applications = new Dictionary<string, ApplicationModel>(config.Applications.Count, StringComparer.Ordinal);
        var keys = new Dictionary<string, ApiKeyModel>(config.Applications.Count, StringComparer.Ordinal);
        var byClientId = new Dictionary<string, ApplicationModel>(config.Applications.Count, StringComparer.Ordinal);
        var basicUsers = new Dictionary<string, (ApplicationModel, byte[])>(StringComparer.Ordinal);
        var byThumbprint = new Dictionary<string, ApplicationModel>(StringComparer.Ordinal);
        var bySubject = new Dictionary<string, ApplicationModel>(StringComparer.Ordinal);
        foreach (var (id, app) in config.Applications)
        {
            var model = new ApplicationModel(id, app.Account, planByName[app.Plan], app.State) { IpFilter = Policies.IpFiltering.IpFilter.Compile(app.IpFilter) };
            applications[id] = model;
            foreach (var key in app.Keys)
            {
                keys[key.Sha256] = new ApiKeyModel(model, key.Expires?.UtcTicks ?? DateTime.MaxValue.Ticks);
            }

            foreach (var basic in app.Basic)
            {
                basicUsers[basic.Username] = (model, Convert.FromHexString(basic.Sha256));
            }

            // Validation has checked every name, so the normalizations here do not fail.
            foreach (var certificate in app.Certificates)
            {
                if (certificate.Thumbprint is { } thumbprint)
                {
                    byThumbprint[ClientCertificateNames.NormalizeThumbprint(thumbprint)!] = model;
                }
                else
                {
                    bySubject[ClientCertificateVerdict.SubjectKey(ClientCertificateNames.NormalizeName(certificate.Subject!)!, ClientCertificateNames.NormalizeName(certificate.Issuer!)!)] = model;
                }
            }

            foreach (var clientId in app.ClientIds.Count > 0 ? app.ClientIds : [id])
            {
                byClientId[clientId] = model;
            }
        }

        var anonymous = config.Plans.FirstOrDefault(p => p.Value.Anonymous).Key is { } anonymousName ? planByName[anonymousName] : null;
        return new AccessModel(
            [.. plans],
            anonymous,
            applications,
            keys,
            byClientId,
            operations.ToFrozenDictionary(StringComparer.Ordinal),
            routes.ToFrozenDictionary(StringComparer.Ordinal),
            config.Gateway.ApiKeys.Header,
            config.Gateway.ApiKeys.QueryParameter,
            config.Gateway.AuthenticationMode == EnforcementMode.Shadow,
            jwt)
        {
            BasicUsers = basicUsers.Count > 0 ? basicUsers : null,
            Introspection = introspection,
            Certificates = byThumbprint.Count + bySubject.Count > 0 ? (byThumbprint, bySubject) : null,
        };
    }
}
