using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Validation;

// services.NAME.registration: self-registered targets (docs/admin-api.md, "Registrations").
public static partial class ConfigValidator
{
    private static void ValidateRegistration(string path, RegistrationConfig r, List<ConfigError> errors)
    {
        for (var i = 0; i < r.TokenSha256.Count; i++)
        {
            if (!ApiKeyHash.IsSha256Hex(r.TokenSha256[i]))
            {
                errors.Add(new ConfigError($"{path}.tokenSha256[{i}]", "must be a token's SHA-256 as 64 lower-case hex characters, as 'gatehouse key new --prefix ghr_' prints it; never the token itself."));
            }
        }

        if (r.Ttl < RegistrationConfig.MinTtl)
        {
            errors.Add(new ConfigError($"{path}.ttl", $"must be at least {Units.FormatDuration(RegistrationConfig.MinTtl)}."));
        }

        if (r.MaxTtl < r.Ttl)
        {
            errors.Add(new ConfigError($"{path}.maxTtl",
                $"the longest time to live ({Units.FormatDuration(r.MaxTtl)}) is shorter than the default one, ttl ({Units.FormatDuration(r.Ttl)}); raise maxTtl or lower ttl."));
        }

        for (var i = 0; i < r.AllowedNetworks.Count; i++)
        {
            if (CheckProxy(r.AllowedNetworks[i]) is { } error)
            {
                errors.Add(new ConfigError($"{path}.allowedNetworks[{i}]", error));
            }
        }
    }

    // A registration token identifies its service: the admin API tells which service a token may register for by it.
    private static void ValidateRegistrationTokens(GatehouseConfig config, List<ConfigError> errors)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, service) in config.Services)
        {
            var tokens = service.Registration?.TokenSha256 ?? [];
            for (var i = 0; i < tokens.Count; i++)
            {
                if (!owners.TryAdd(tokens[i], name) && owners[tokens[i]] != name)
                {
                    errors.Add(new ConfigError($"services.{name}.registration.tokenSha256[{i}]",
                        $"the same token already registers targets of service '{owners[tokens[i]]}'; a registration token belongs to one service. Make another with 'gatehouse key new --prefix ghr_'."));
                }
            }
        }
    }
}
