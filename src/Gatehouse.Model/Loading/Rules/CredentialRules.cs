using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// A service credential names a header the gateway does not manage and the environment variable that holds the secret
/// on each node. The variable's name is read as written (a <c>${…}</c> here would put the secret into the config), and
/// the secret is read on the node loading the config, so files and stored revisions hold only the name.
/// </summary>
internal sealed class CredentialRules : BindingRules<ServiceCredentialConfig>
{
    /// <summary>Headers a service credential may not go in: the gateway writes or drops them itself.</summary>
    private static readonly string[] ReservedHeaders =
    [
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
        "Content-Length", "Content-Type", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "X-Request-Id",
        "Accept", "Gatehouse-Application", "Gatehouse-Plan",
    ];

    protected override ServiceCredentialConfig? Check(ServiceCredentialConfig credential, BindingScope scope)
    {
        var ok = true;
        if (scope.Has("header") && !scope.Failed("header"))
        {
            var header = credential.Header;
            if (!ConfigValidator.IsToken(header))
            {
                scope.Error("header", $"'{header}' is not a header name; use letters, digits and '-', e.g. 'Authorization'.");
                ok = false;
            }
            else if (ReservedHeaders.Contains(header, StringComparer.OrdinalIgnoreCase) || header.StartsWith("Content-", StringComparison.OrdinalIgnoreCase)
                || header.StartsWith("Gatehouse-", StringComparison.OrdinalIgnoreCase))
            {
                scope.Error("header", $"the gateway sets or drops '{header}' itself; put the credential in a header of its own, e.g. 'Authorization'.");
                ok = false;
            }
        }

        if (!scope.Map.TryGetValue("env", out var envNode))
        {
            scope.Error("env", "'env' is required: the environment variable that holds the credential on each gateway node, e.g. 'env: ORDERS_TOKEN'.");
            return null;
        }

        // The value is not echoed in errors, in case it is the secret itself.
        if (envNode is not YamlScalarNode { Value: { } env } || !EnvironmentReferences.IsVariableName(env))
        {
            scope.Error("env", "not an environment variable name; write the variable's name (letters, digits and '_'), e.g. 'ORDERS_TOKEN', not its value and not ${…}.");
            return null;
        }

        if (!scope.B.ReadsSecrets)
        {
            return ok ? credential with { Env = env } : null;
        }

        var secret = scope.B.Variable(env);
        var value = credential.Prefix + secret;
        if (string.IsNullOrEmpty(secret))
        {
            scope.Error("env", $"environment variable '{env}' is not set on this node; set it to the service's credential where the gateway runs.");
            ok = false;
        }
        else if (value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            scope.Error("env", $"the credential (prefix and environment variable '{env}') holds a CR, LF or NUL, which cannot go in a header; remove it.");
            ok = false;
        }

        return ok ? credential with { Env = env, Value = value } : null;
    }
}
