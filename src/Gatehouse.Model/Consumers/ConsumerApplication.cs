using Gatehouse.Model.Config;

namespace Gatehouse.Model.Consumers;

/// <summary>
/// An application that a consumer made in the developer portal (or an administrator through the admin API's portal
/// endpoints). Unlike <see cref="ApplicationConfig"/> it is not part of a config revision: it lives in the store's
/// consumer tables and reaches every node's access model on its own, without recompiling routes (docs/portal.md).
/// </summary>
/// <param name="Id">Unique across the store; what services see in <c>Gatehouse-Application</c> (<c>app-…</c>).</param>
/// <param name="Account">The owning consumer account's id.</param>
/// <param name="Plan">A plan of the config, by name.</param>
/// <param name="State">Live, pending (awaiting approval) or suspended.</param>
/// <param name="Keys">Its API keys, as hashes.</param>
/// <param name="ClientIds">OAuth client ids whose tokens (a JWT's application claim, an introspection answer's
/// <c>client_id</c>) mean this application, as a config application's <c>clientIds</c> do; set by an administrator.
/// Null or empty: none (unlike a config application, its own id is not one).</param>
/// <param name="AllowedAddresses">The addresses and CIDR ranges its owner allows its credentials to call from, on top of
/// its plan's <c>ipFilter</c> (never instead of it). Null or empty: any.</param>
public sealed record ConsumerApplication(string Id, string Account, string Plan, ApplicationState State, IReadOnlyList<ConsumerKey> Keys, IReadOnlyList<string>? ClientIds = null,
    IReadOnlyList<string>? AllowedAddresses = null);

/// <summary>One API key of a <see cref="ConsumerApplication"/>: only its hash is ever stored.</summary>
/// <param name="Sha256">Lower-case hex SHA-256 of the key.</param>
/// <param name="Prefix">The shown part (<c>ghk_1a2b</c>), unique within the application.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="Expires">When it stops working; null for never.</param>
public sealed record ConsumerKey(string Sha256, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? Expires);
