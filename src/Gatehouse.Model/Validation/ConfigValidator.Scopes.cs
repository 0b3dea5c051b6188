using Gatehouse.Model.Config;

namespace Gatehouse.Model.Validation;

/// <summary>OAuth scope checks: routes', operations' and compositions' <c>requireScopes</c>, and the introspection answer's issuer.</summary>
public static partial class ConfigValidator
{
    private static void ValidateScopes(GatehouseConfig config, List<ConfigError> errors)
    {
        if (config.Gateway.Introspection?.Issuer is { } issuer && !IsIssuer(issuer))
        {
            errors.Add(new ConfigError("gateway.introspection.issuer",
                $"'{issuer}' is not an issuer: write the authorization server's 'iss' exactly as its answers carry it, an absolute URL such as 'https://auth.example.com/' (or a name without ':' and spaces), or remove 'issuer'."));
        }

        foreach (var (id, route) in config.Routes)
        {
            ValidateRequireScopes(config, $"routes.{id}.requireScopes", route.RequireScopes, errors);
        }

        foreach (var (name, service) in config.Services)
        {
            foreach (var (id, operation) in service.Operations)
            {
                ValidateRequireScopes(config, $"services.{name}.operations.{id}.requireScopes", operation.RequireScopes, errors);
            }
        }

        foreach (var (id, composition) in config.Compositions)
        {
            ValidateRequireScopes(config, $"compositions.{id}.requireScopes", composition.RequireScopes, errors);
        }
    }

    private static void ValidateRequireScopes(GatehouseConfig config, string path, IReadOnlyList<string> scopes, List<ConfigError> errors)
    {
        if (scopes.Count == 0)
        {
            return;
        }

        for (var i = 0; i < scopes.Count; i++)
        {
            if (!IsScopeToken(scopes[i]))
            {
                errors.Add(new ConfigError($"{path}[{i}]",
                    $"'{scopes[i]}' is not an OAuth scope: one word of visible ASCII characters without spaces, '\"' or '\\' (RFC 6749 §3.3), e.g. 'orders:read'; list several scopes as several entries."));
            }
            else if (scopes.Take(i).Contains(scopes[i], StringComparer.Ordinal))
            {
                errors.Add(new ConfigError($"{path}[{i}]", $"'{scopes[i]}' is listed twice; remove one."));
            }
        }

        // Without plans no route has the access steps, and without a token source no request carries scopes: the
        // requirement would be silently ignored, or refuse everything.
        if (config.Plans.Count == 0)
        {
            errors.Add(new ConfigError(path, "scopes are checked by the access steps, which run only when the config has plans; add a plan that grants this, or remove 'requireScopes'."));
        }
        else if (config.Gateway.Jwt.Issuers.Count == 0 && config.Gateway.Introspection is null)
        {
            errors.Add(new ConfigError(path, "scopes come from bearer tokens, and none is accepted: add an issuer under 'gateway.jwt.issuers' or an endpoint under 'gateway.introspection', or remove 'requireScopes'."));
        }
    }

    /// <summary>RFC 6749 §3.3: <c>scope-token = 1*( %x21 / %x23-5B / %x5D-7E )</c>.</summary>
    private static bool IsScopeToken(string scope) =>
        scope.Length > 0 && scope.All(c => c is '\x21' or (>= '\x23' and <= '\x5B') or (>= '\x5D' and <= '\x7E'));

    /// <summary>A JWT <c>StringOrURI</c> (RFC 7519 §2): any string, but one with a ':' must be a URI; no spaces, never empty.</summary>
    private static bool IsIssuer(string issuer) =>
        issuer.Length > 0 && !issuer.Any(char.IsWhiteSpace) && !issuer.Any(char.IsControl)
        && (!issuer.Contains(':', StringComparison.Ordinal) || Uri.TryCreate(issuer, UriKind.Absolute, out _));
}
