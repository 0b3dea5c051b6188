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
    /// <summary>
    /// The header the credential goes in; not one the gateway sets or drops itself (<c>Host</c>, <c>Content-*</c>,
    /// <c>X-Forwarded-*</c>, <c>X-Request-Id</c>, <c>Accept</c>, <c>Gatehouse-*</c>, hop-by-hop headers).
    /// </summary>
    [DocType("header name")]
    public string Header { get; init; } = "Authorization";

    /// <summary>Written before the secret, e.g. <c>"Bearer "</c>.</summary>
    [DefaultText("none")]
    public string Prefix { get; init; } = "";

    /// <summary>
    /// The environment variable that holds the secret on each gateway node, read when the node loads the config. Write
    /// the name (<c>ORDERS_TOKEN</c>), never the value and never <c>${ORDERS_TOKEN}</c>: a file in git, a stored
    /// revision, the admin API and <c>gatehouse export</c> show only the name. A variable that is unset or empty on the
    /// loading node is an error here (through the admin API: 422, nothing committed; a following node skips the
    /// revision and logs why); a change is picked up when the process restarts. <c>gatehouse validate</c> and
    /// <c>gatehouse apply</c> check the name without reading the variable.
    /// </summary>
    [BoundByRules("""{ "type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" }""")]
    [DocType("environment variable name")]
    [DefaultText("required")]
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
