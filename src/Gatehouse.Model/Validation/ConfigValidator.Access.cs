using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Operations;

namespace Gatehouse.Model.Validation;

/// <summary>Checks of plans, accounts, applications, credentials and the service API.</summary>
public static partial class ConfigValidator
{
    private static readonly string[] ReservedKeyHeaders = ["Authorization", "Host", "Cookie", "Content-Type", "Content-Length", "Gatehouse-Application", "Gatehouse-Plan"];

    /// <summary>
    /// Which operations may be missing because of an error already reported (a document that could not be read, a
    /// service that did not bind): rules about them are not reported again as selecting nothing.
    /// </summary>
    private sealed record Incompleteness(IReadOnlySet<string>? BrokenServices, ExpansionInfo? Expansion)
    {
        public static Incompleteness Of(IReadOnlySet<string>? brokenServices, ExpansionInfo? expansion) => new(brokenServices, expansion);

        public bool Any => BrokenServices is { Count: > 0 } || Expansion is { UnreadServices.Count: > 0 } || Expansion is { LostOperations.Count: > 0 };

        public bool MayBeLost(string id) => Expansion?.MayBeLost(id) == true || BrokenServices?.Contains(id.Split('.')[0]) == true;
    }

    private static void ValidateAccess(GatehouseConfig config, OperationIndex operations, Incompleteness incomplete, List<ConfigError> errors)
    {
        ValidateCredentialsSettings(config.Gateway, errors);
        var anonymous = new List<string>();
        foreach (var (name, plan) in config.Plans)
        {
            var path = $"plans.{name}";
            if (plan.Anonymous)
            {
                anonymous.Add(name);
                if (plan.ApprovalRequired)
                {
                    errors.Add(new ConfigError($"{path}.approvalRequired", "an anonymous plan has no subscribers to approve; remove 'approvalRequired' or 'anonymous'."));
                }
            }

            ValidateModelAliases(config, path, plan, errors);
            ValidateRules(config, operations, incomplete, $"{path}.include", plan.Include, errors);
            ValidateRules(config, operations, incomplete, $"{path}.omit", plan.Omit, errors);
            var grants = PlanGrants.Resolve(plan, config);
            foreach (var id in plan.OperationLimits.Keys)
            {
                if (!operations.TryGet(id, out _, out _) && !IsCompositionOperation(config, id))
                {
                    if (!incomplete.MayBeLost(id))
                    {
                        errors.Add(new ConfigError($"{path}.operationLimits.{id}", $"there is no operation '{id}'.{DidYouMean(id, operations.Ids)}"));
                    }
                }
                else if (!grants.Operations.ContainsKey(id) && !incomplete.Any)
                {
                    errors.Add(new ConfigError($"{path}.operationLimits.{id}", $"plan '{name}' does not grant '{id}', so its limits would never apply; grant it under 'include' or remove the limits."));
                }
            }
        }

        if (anonymous.Count > 1)
        {
            errors.Add(new ConfigError($"plans.{anonymous[1]}.anonymous", $"only one plan can be anonymous, and '{anonymous[0]}' already is; merge their grants into one plan."));
        }

        var keyOwners = new Dictionary<string, string>(StringComparer.Ordinal);
        var clientOwners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, app) in config.Applications)
        {
            var path = $"applications.{id}";
            if (!config.Accounts.ContainsKey(app.Account))
            {
                errors.Add(new ConfigError($"{path}.account", $"there is no account '{app.Account}'; add it under 'accounts'.{DidYouMean(app.Account, config.Accounts.Keys)}"));
            }

            if (!config.Plans.TryGetValue(app.Plan, out var plan))
            {
                errors.Add(new ConfigError($"{path}.plan", $"there is no plan '{app.Plan}'.{DidYouMean(app.Plan, config.Plans.Keys)}"));
            }
            else if (plan.Anonymous)
            {
                errors.Add(new ConfigError($"{path}.plan", $"plan '{app.Plan}' is the anonymous plan, which serves requests without a credential; put the application on another plan."));
            }

            for (var i = 0; i < app.Keys.Count; i++)
            {
                var hash = app.Keys[i].Sha256;
                if (!ApiKeyHash.IsSha256Hex(hash))
                {
                    errors.Add(new ConfigError($"{path}.keys[{i}].sha256", "must be the key's SHA-256 as 64 lower-case hex characters, as 'gatehouse key new' prints it; never the key itself."));
                }
                else if (!keyOwners.TryAdd(hash, id))
                {
                    errors.Add(new ConfigError($"{path}.keys[{i}].sha256", $"the same key already belongs to application '{keyOwners[hash]}'; a key identifies one application. Make a new key with 'gatehouse key new'."));
                }
            }

            var clientIds = app.ClientIds.Count > 0 ? app.ClientIds : [id];
            for (var i = 0; i < clientIds.Count; i++)
            {
                var clientPath = app.ClientIds.Count > 0 ? $"{path}.clientIds[{i}]" : path;
                if (string.IsNullOrWhiteSpace(clientIds[i]))
                {
                    errors.Add(new ConfigError(clientPath, "a client id must not be empty."));
                }
                else if (!clientOwners.TryAdd(clientIds[i], id))
                {
                    errors.Add(new ConfigError(clientPath, $"client id '{clientIds[i]}' already identifies application '{clientOwners[clientIds[i]]}'; a token must map to one application."));
                }
            }
        }
    }

    // A plan's 'models' and its token limits' 'model' name aliases of the ai services: a typo would allow nothing, or
    // limit nothing, without a word.
    private static void ValidateModelAliases(GatehouseConfig config, string path, PlanConfig plan, List<ConfigError> errors)
    {
        var aliases = config.Services.Values.Where(s => s.Kind == ServiceKind.Ai && s.Ai is not null).SelectMany(s => s.Ai!.Models.Keys).ToHashSet(StringComparer.Ordinal);
        var known = aliases.Count == 0 ? " No service of 'kind: ai' defines one." : $" Aliases: {string.Join(", ", aliases.Order(StringComparer.Ordinal))}.";
        for (var i = 0; i < (plan.Models?.Count ?? 0); i++)
        {
            if (!aliases.Contains(plan.Models![i]))
            {
                errors.Add(new ConfigError($"{path}.models[{i}]", $"'{plan.Models[i]}' is not a model alias of any ai service.{DidYouMean(plan.Models[i], aliases)}{known}"));
            }
        }

        for (var i = 0; i < plan.TokenLimits.Count; i++)
        {
            if (plan.TokenLimits[i].Model is { } model && !aliases.Contains(model))
            {
                errors.Add(new ConfigError($"{path}.tokenLimits[{i}].model", $"'{model}' is not a model alias of any ai service, so this limit would never apply.{DidYouMean(model, aliases)}{known}"));
            }
        }

        // A spend limit counts calls at their provider model's price: a model without one would be free under it.
        var targets = config.Services.Values.Where(s => s.Kind == ServiceKind.Ai && s.Ai is not null).SelectMany(s => s.Ai!.Models).ToList();
        for (var i = 0; i < plan.SpendLimits.Count; i++)
        {
            var limit = plan.SpendLimits[i];
            if (limit.Model is { } model && !aliases.Contains(model))
            {
                errors.Add(new ConfigError($"{path}.spendLimits[{i}].model", $"'{model}' is not a model alias of any ai service, so this limit would never apply.{DidYouMean(model, aliases)}{known}"));
                continue;
            }

            var unpriced = targets
                .Where(t => (limit.Model is null || t.Key == limit.Model) && (plan.Models is null || plan.Models.Contains(t.Key, StringComparer.Ordinal)))
                .SelectMany(t => t.Value.Where(m => m.Price is null).Select(m => $"{t.Key} → {m.Provider}/{m.Model}"))
                .ToList();
            if (unpriced.Count > 0)
            {
                errors.Add(new ConfigError($"{path}.spendLimits[{i}]", $"calls are counted at their model's price, and {string.Join(", ", unpriced.Take(3))}{(unpriced.Count > 3 ? $" and {unpriced.Count - 3} more" : "")} "
                    + "have none, so they would be free under this limit; give each a 'price: { prompt: …, completion: … }', or limit the spend to a 'model' whose entries all have one."));
            }
        }
    }

    private static void ValidateRules(GatehouseConfig config, OperationIndex operations, Incompleteness incomplete, string path, IReadOnlyList<GrantConfig> rules, List<ConfigError> errors)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var rulePath = $"{path}[{i}]";
            switch (rule)
            {
                case { Operation: { } id } when !operations.TryGet(id, out _, out _) && !IsCompositionOperation(config, id) && incomplete.MayBeLost(id):
                    continue;
                case { Operation: { } id } when !operations.TryGet(id, out _, out _) && !IsCompositionOperation(config, id):
                    errors.Add(new ConfigError($"{rulePath}.operation", $"there is no operation '{id}'.{DidYouMean(id, operations.Ids)}"));
                    continue;
                case { Route: { } route } when !config.Routes.TryGetValue(route, out _):
                    errors.Add(new ConfigError($"{rulePath}.route", $"there is no route '{route}'.{DidYouMean(route, config.Routes.Keys)}"));
                    continue;
                case { Route: { } route } when config.Routes[route].Operation is { } bound:
                    errors.Add(new ConfigError($"{rulePath}.route", $"route '{route}' serves operation '{bound}'; grant '{{ operation: {bound} }}' instead."));
                    continue;
                case { Path: { } pattern } when PathPattern.Check(pattern) is { } problem:
                    errors.Add(new ConfigError($"{rulePath}.path", problem));
                    continue;
            }

            var (selectedOperations, selectedRoutes) = PlanGrants.Select(rule, config);
            if (!selectedOperations.Any() && !selectedRoutes.Any() && !incomplete.Any)
            {
                var (key, what) = rule.Tag is not null ? ("tag", $"no operation has tag '{rule.Tag}'") : ("path", $"'{rule.Path}' matches no operation or route path");
                if (rule.Tag is not null || rule.Path is not null)
                {
                    errors.Add(new ConfigError($"{rulePath}.{key}", $"{what}; check the spelling, or remove the rule."));
                }
            }
        }
    }

    private static void ValidateCredentialsSettings(GatewayConfig gw, List<ConfigError> errors)
    {
        var header = gw.ApiKeys.Header;
        if (!IsToken(header))
        {
            errors.Add(new ConfigError("gateway.apiKeys.header", $"'{header}' is not a header name; use letters, digits and '-', e.g. 'X-Api-Key'."));
        }
        else if (ReservedKeyHeaders.Contains(header, StringComparer.OrdinalIgnoreCase))
        {
            errors.Add(new ConfigError("gateway.apiKeys.header", $"'{header}' has another meaning in HTTP or in Gatehouse; pick a header of its own such as 'X-Api-Key'."));
        }

        if (!gw.ApiKeys.QueryParameter.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            errors.Add(new ConfigError("gateway.apiKeys.queryParameter", $"'{gw.ApiKeys.QueryParameter}' must be letters, digits, '-', '_' or '.', so it needs no encoding, e.g. 'api_key'."));
        }

        if (gw.ServiceApi is { } api)
        {
            if (!TryParseListener(api.Url, out var uri, out var error))
            {
                errors.Add(new ConfigError("gateway.serviceApi.url", error!));
            }
            else if (uri!.Scheme != "http")
            {
                errors.Add(new ConfigError("gateway.serviceApi.url", "the service API listens on http (put it on a private network or loopback); https is not supported for it yet."));
            }
            else if (uri.Port != 0 && gw.Listeners.Any(l => TryParseListener(l.Url, out var other, out _) && other!.Port == uri.Port && other.Host == uri.Host))
            {
                errors.Add(new ConfigError("gateway.serviceApi.url", $"'{api.Url}' is also a gateway listener; the service API needs its own address or port."));
            }

            if (api.TokenSha256.Count == 0)
            {
                errors.Add(new ConfigError("gateway.serviceApi.tokenSha256", "at least one service token hash is required, or nobody can call the API; make one with 'gatehouse key new --prefix ghs_'."));
            }

            for (var i = 0; i < api.TokenSha256.Count; i++)
            {
                if (!ApiKeyHash.IsSha256Hex(api.TokenSha256[i]))
                {
                    errors.Add(new ConfigError($"gateway.serviceApi.tokenSha256[{i}]", "must be a token's SHA-256 as 64 lower-case hex characters; never the token itself."));
                }
            }
        }
    }

    internal static bool IsToken(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c));

    private static string DidYouMean(string name, IEnumerable<string> candidates) =>
        YamlBinder.Suggest(name, candidates) is { } s ? $" Did you mean '{s}'?" : "";
}
