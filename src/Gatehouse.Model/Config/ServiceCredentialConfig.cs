using Gatehouse.Model.Schema;
using System.Text;
using System.Text.Json.Serialization;

namespace Gatehouse.Model.Config;

/// <summary>
/// The gateway's own credential for a service: a header the gateway adds to every call it makes to the service, proxied
/// or composed, in place of any header of that name from the client or a composition step. The config names where the
/// secret is (an environment variable of the gateway node), never the secret: a file in git, a stored revision and
/// <c>gatehouse export</c> show <c>env: ORDERS_TOKEN</c>, and each node reads the value when it loads the config.
/// </summary>
[BindingRules(typeof(Loading.CredentialRules))]
public sealed record ServiceCredentialConfig
{
    /// <summary>The header the credential goes in. Default <c>Authorization</c>.</summary>
    public string Header { get; init; } = "Authorization";

    /// <summary>Text written before the secret, such as <c>"Bearer "</c>. Default: none.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>The environment variable, on every gateway node, that holds the secret. Required.</summary>
    [BoundByRules("""{ "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" }""")]
    public required string Env { get; init; }

    /// <summary>
    /// The header's value (<see cref="Prefix"/> and the secret), read from <see cref="Env"/> when this node loaded the
    /// config; empty when it was loaded without reading secrets (<c>gatehouse validate</c>, <c>apply</c>). Never
    /// serialized and never printed.
    /// </summary>
    [JsonIgnore]
    [NotConfig]
    public string Value { get; init; } = "";

    // Records print every property; this one must not print the secret.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Header = ").Append(Header).Append(", Prefix = ").Append(Prefix).Append(", Env = ").Append(Env).Append(", Value = ***");
        return true;
    }
}
