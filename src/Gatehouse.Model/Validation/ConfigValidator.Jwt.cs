using Gatehouse.Model.Config;

namespace Gatehouse.Model.Validation;

public static partial class ConfigValidator
{
    private static void ValidateJwtIssuers(GatehouseConfig config, List<ConfigError> errors)
    {
        if (config.Gateway.McpAuthorization is { } mcp)
        {
            ValidateMcpAuthorization(config, mcp, errors);
        }

        foreach (var (name, issuer) in config.Gateway.Jwt.Issuers)
        {
            ValidateJwtIssuer($"gateway.jwt.issuers.{name}", issuer, errors);
        }
    }

    private static void ValidateJwtIssuer(string path, JwtIssuerConfig issuer, List<ConfigError> errors)
    {
        if (issuer.Audiences.Count == 0)
        {
            errors.Add(new ConfigError($"{path}.audiences", "at least one audience is required: the 'aud' value tokens for this gateway carry, e.g. 'audiences: [https://api.example.com]'."));
        }

        for (var i = 0; i < issuer.Audiences.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(issuer.Audiences[i]))
            {
                errors.Add(new ConfigError($"{path}.audiences[{i}]", "an audience must not be empty."));
            }
        }

        ValidateJwks(path, issuer, errors);
        ValidateAlgorithms(path, issuer.Algorithms, errors);

        if (issuer.ClockSkew > JwtIssuerConfig.MaxClockSkew)
        {
            errors.Add(new ConfigError($"{path}.clockSkew", $"must be at most 5m (found {issuer.ClockSkew}); a larger skew keeps expired tokens alive. Fix the clocks instead (NTP)."));
        }

        if (issuer.JwksRefresh < JwtIssuerConfig.MinJwksRefresh)
        {
            errors.Add(new ConfigError($"{path}.jwksRefresh", $"must be at least 30s (found {issuer.JwksRefresh}); keys rotate in hours or days, and a token with an unknown key triggers an early refresh anyway."));
        }
    }

    private static void ValidateJwks(string path, JwtIssuerConfig issuer, List<ConfigError> errors)
    {
        switch (issuer.JwksFile, issuer.JwksUrl)
        {
            case (null, null):
                errors.Add(new ConfigError($"{path}.jwksUrl", "the issuer's keys are needed: give 'jwksUrl' (e.g. https://login.example.com/.well-known/jwks.json) or 'jwksFile'."));
                return;
            case (not null, not null):
                errors.Add(new ConfigError($"{path}.jwksFile", "give 'jwksFile' or 'jwksUrl', not both."));
                return;
        }

        if (issuer.JwksFile is { } file && (file.Length == 0 || !File.Exists(file)))
        {
            errors.Add(new ConfigError($"{path}.jwksFile", $"'{file}' does not exist; give the path of a JSON Web Key Set file (relative to the config file)."));
        }

        if (issuer.JwksUrl is { } url
            && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0))
        {
            errors.Add(new ConfigError($"{path}.jwksUrl", $"'{url}' is not an http(s) URL without user or fragment; write e.g. https://login.example.com/.well-known/jwks.json."));
        }
    }

    private static void ValidateAlgorithms(string path, IReadOnlyList<string> algorithms, List<ConfigError> errors)
    {
        if (algorithms.Count == 0)
        {
            errors.Add(new ConfigError($"{path}.algorithms", $"pin the signing algorithms the issuer uses, e.g. 'algorithms: [RS256]'; one or more of {string.Join(", ", JwtIssuerConfig.SupportedAlgorithms)}."));
            return;
        }

        for (var i = 0; i < algorithms.Count; i++)
        {
            var alg = algorithms[i];
            if (JwtIssuerConfig.SupportedAlgorithms.Contains(alg, StringComparer.Ordinal))
            {
                continue;
            }

            var message = alg.StartsWith("HS", StringComparison.OrdinalIgnoreCase) || alg.Equals("none", StringComparison.OrdinalIgnoreCase)
                ? $"'{alg}' is not allowed: symmetric and unsigned tokens cannot be verified with a public key set. Use one of {string.Join(", ", JwtIssuerConfig.SupportedAlgorithms)}."
                : $"'{alg}' is not a supported algorithm; use one of {string.Join(", ", JwtIssuerConfig.SupportedAlgorithms)} (names are case-sensitive).";
            errors.Add(new ConfigError($"{path}.algorithms[{i}]", message));
        }
    }

    private static void ValidateMcpAuthorization(GatehouseConfig config, McpAuthorizationConfig mcp, List<ConfigError> errors)
    {
        const string path = "gateway.mcpAuthorization";
        if (!config.Gateway.Mcp)
        {
            errors.Add(new ConfigError(path, "'mcpAuthorization' protects the MCP endpoint, which is off; add 'mcp: true' to 'gateway', or remove 'mcpAuthorization'."));
        }

        if (!Uri.TryCreate(mcp.Resource, UriKind.Absolute, out var resource) || (resource.Scheme != Uri.UriSchemeHttps && resource.Scheme != Uri.UriSchemeHttp) || resource.Fragment.Length > 0)
        {
            errors.Add(new ConfigError($"{path}.resource", $"'{mcp.Resource}' is not an http(s) URL without fragment; write the MCP endpoint's public URL, e.g. 'https://api.example.com/mcp'."));
        }

        if (config.Gateway.Jwt.Issuers.Count == 0)
        {
            errors.Add(new ConfigError(path, "bearer tokens are checked with the keys of 'gateway.jwt.issuers', and there is none; add the authorization server's issuer there (its 'issuer', 'jwksUrl' and 'algorithms')."));
            return;
        }

        var issuers = config.Gateway.Jwt.Issuers.Values.Select(i => i.Issuer).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < mcp.AuthorizationServers.Count; i++)
        {
            if (!issuers.Contains(mcp.AuthorizationServers[i]))
            {
                errors.Add(new ConfigError($"{path}.authorizationServers[{i}]", $"'{mcp.AuthorizationServers[i]}' is not the 'issuer' of any of 'gateway.jwt.issuers'; use one of {string.Join(", ", issuers)}, or add the issuer there."));
            }
        }
    }
}
