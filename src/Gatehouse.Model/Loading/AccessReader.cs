using System.Globalization;
using Gatehouse.Model.Config;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>Binds <c>plans</c>, <c>accounts</c> and <c>applications</c>.</summary>
internal sealed class AccessReader(YamlBinder b)
{
    private readonly LimitsReader _limits = new(b);

    public IReadOnlyDictionary<string, PlanConfig> ReadPlans(YamlNode node, string path)
    {
        var plans = new Dictionary<string, PlanConfig>(StringComparer.Ordinal);
        foreach (var (name, value, planPath) in b.NamedEntries(node, path))
        {
            if (ReadPlan(value, planPath) is { } plan)
            {
                plans[name] = plan;
            }
        }

        return plans;
    }

    public IReadOnlyDictionary<string, AccountConfig> ReadAccounts(YamlNode node, string path)
    {
        var accounts = new Dictionary<string, AccountConfig>(StringComparer.Ordinal);
        foreach (var (name, value, accountPath) in b.NamedEntries(node, path))
        {
            // An account may be written with no fields at all: 'acme: {}'.
            var map = value is YamlScalarNode { Value: null or "" } ? new Dictionary<string, YamlNode>() : b.Mapping(value, accountPath, "title", "email");
            if (map is null)
            {
                continue;
            }

            accounts[name] = new AccountConfig
            {
                Title = map.TryGetValue("title", out var t) ? b.String(t, YamlBinder.Join(accountPath, "title")) : null,
                Email = map.TryGetValue("email", out var e) ? b.String(e, YamlBinder.Join(accountPath, "email")) : null,
            };
        }

        return accounts;
    }

    public IReadOnlyDictionary<string, ApplicationConfig> ReadApplications(YamlNode node, string path)
    {
        var apps = new Dictionary<string, ApplicationConfig>(StringComparer.Ordinal);
        foreach (var (name, value, appPath) in b.NamedEntries(node, path))
        {
            if (ReadApplication(value, appPath) is { } app)
            {
                apps[name] = app;
            }
        }

        return apps;
    }

    private PlanConfig? ReadPlan(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "title", "anonymous", "approvalRequired", "hidden", "serverTiming", "mode", "include", "omit", "limits", "operationLimits");
        if (map is null)
        {
            return null;
        }

        var plan = new PlanConfig();
        if (map.TryGetValue("title", out var title))
        {
            plan = plan with { Title = b.String(title, YamlBinder.Join(path, "title")) };
        }

        if (b.Bool(map, "anonymous", path) is { } a)
        {
            plan = plan with { Anonymous = a };
        }

        if (b.Bool(map, "approvalRequired", path) is { } ar)
        {
            plan = plan with { ApprovalRequired = ar };
        }

        if (b.Bool(map, "hidden", path) is { } h)
        {
            plan = plan with { Hidden = h };
        }

        if (b.Bool(map, "serverTiming", path) is { } t)
        {
            plan = plan with { ServerTiming = t };
        }

        if (map.TryGetValue("mode", out var mode) && b.Enum<EnforcementMode>(mode, YamlBinder.Join(path, "mode")) is { } m)
        {
            plan = plan with { Mode = m };
        }

        if (map.TryGetValue("include", out var include))
        {
            plan = plan with { Include = ReadGrants(include, YamlBinder.Join(path, "include")) };
        }

        if (map.TryGetValue("omit", out var omit))
        {
            plan = plan with { Omit = ReadGrants(omit, YamlBinder.Join(path, "omit")) };
        }

        if (map.TryGetValue("limits", out var limits))
        {
            plan = plan with { Limits = _limits.ReadLimits(limits, YamlBinder.Join(path, "limits")) };
        }

        if (map.TryGetValue("operationLimits", out var opLimits))
        {
            var byOperation = new Dictionary<string, IReadOnlyList<LimitConfig>>(StringComparer.Ordinal);
            foreach (var (id, value, opPath) in b.NamedEntries(opLimits, YamlBinder.Join(path, "operationLimits")))
            {
                byOperation[id] = _limits.ReadLimits(value, opPath);
            }

            plan = plan with { OperationLimits = byOperation };
        }

        return plan;
    }

    private List<GrantConfig> ReadGrants(YamlNode node, string path)
    {
        var grants = new List<GrantConfig>();
        foreach (var (item, itemPath) in b.Sequence(node, path))
        {
            var map = b.Mapping(item, itemPath, "operation", "tag", "path", "route", "access");
            if (map is null)
            {
                continue;
            }

            var selectors = new[] { "operation", "tag", "path", "route" }.Where(map.ContainsKey).ToList();
            if (selectors.Count != 1)
            {
                b.Error(itemPath, item, selectors.Count == 0
                    ? "a rule selects operations by one of 'operation', 'tag', 'path' or 'route', e.g. '{ tag: users, access: read }'."
                    : $"a rule has one selector; this one has {string.Join(" and ", selectors.Select(s => $"'{s}'"))}. Split it into one rule each.");
                continue;
            }

            var key = selectors[0];
            var value = b.String(map[key], YamlBinder.Join(itemPath, key));
            if (value is null)
            {
                continue;
            }

            if (value.Length == 0)
            {
                b.Error(YamlBinder.Join(itemPath, key), map[key], $"'{key}' must not be empty.");
                continue;
            }

            var grant = key switch
            {
                "operation" => new GrantConfig { Operation = value },
                "tag" => new GrantConfig { Tag = value },
                "path" => new GrantConfig { Path = value },
                _ => new GrantConfig { Route = value },
            };

            if (map.TryGetValue("access", out var accessNode))
            {
                var access = new List<OperationAccess>();
                var accessPath = YamlBinder.Join(itemPath, "access");
                foreach (var text in b.OneOrMany(accessNode, accessPath))
                {
                    if (text == "read" || text == "write")
                    {
                        var parsed = text == "read" ? OperationAccess.Read : OperationAccess.Write;
                        if (!access.Contains(parsed))
                        {
                            access.Add(parsed);
                        }
                    }
                    else
                    {
                        b.Error(accessPath, accessNode, $"'{text}' is not an access class; write read, write or [read, write].");
                    }
                }

                if (access.Count == 0)
                {
                    continue;
                }

                grant = grant with { Access = access };
            }

            grants.Add(grant);
        }

        return grants;
    }

    private ApplicationConfig? ReadApplication(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "account", "plan", "state", "keys", "clientIds");
        if (map is null)
        {
            return null;
        }

        var account = b.Required(map, "account", path, node, "the account that owns the application, a key of 'accounts'");
        var plan = b.Required(map, "plan", path, node, "the plan it subscribes to, a key of 'plans'");
        if (account is null || plan is null)
        {
            return null;
        }

        var app = new ApplicationConfig { Account = account, Plan = plan };
        if (map.TryGetValue("state", out var state) && b.Enum<ApplicationState>(state, YamlBinder.Join(path, "state")) is { } s)
        {
            app = app with { State = s };
        }

        if (map.TryGetValue("clientIds", out var clientIds))
        {
            app = app with { ClientIds = b.OneOrMany(clientIds, YamlBinder.Join(path, "clientIds")) };
        }

        if (map.TryGetValue("keys", out var keys))
        {
            var list = new List<ApiKeyConfig>();
            foreach (var (item, itemPath) in b.Sequence(keys, YamlBinder.Join(path, "keys")))
            {
                if (ReadKey(item, itemPath) is { } key)
                {
                    list.Add(key);
                }
            }

            app = app with { Keys = list };
        }

        return app;
    }

    private ApiKeyConfig? ReadKey(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "sha256", "prefix", "expires");
        if (map is null)
        {
            return null;
        }

        var hash = b.Required(map, "sha256", path, node, "the key's SHA-256 in hex, as 'gatehouse key new' prints it");
        if (hash is null)
        {
            return null;
        }

        var key = new ApiKeyConfig { Sha256 = hash };
        if (map.TryGetValue("prefix", out var prefix))
        {
            key = key with { Prefix = b.String(prefix, YamlBinder.Join(path, "prefix")) };
        }

        if (map.TryGetValue("expires", out var expires) && b.String(expires, YamlBinder.Join(path, "expires")) is { } text)
        {
            if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            {
                key = key with { Expires = at };
            }
            else
            {
                b.Error(YamlBinder.Join(path, "expires"), expires, $"expected a date and time such as '2027-01-31T00:00:00Z'; found '{text}'.");
            }
        }

        return key;
    }
}
