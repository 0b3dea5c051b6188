namespace Gatehouse.Management.Stores;

/// <summary>
/// An OAuth client the portal registered at the provider for an application (RFC 7591; docs/portal.md, "OAuth clients
/// of portal applications"), and what deletes it there when the application no longer holds its client id (RFC 7592).
/// </summary>
/// <param name="ClientId">The client id the provider gave it.</param>
/// <param name="Application">The portal application it was made for.</param>
/// <param name="Issuer">The provider's issuer.</param>
/// <param name="ManagementUri">The provider's <c>registration_client_uri</c>; null when it gave none (the client is then left there).</param>
/// <param name="ManagementToken">Its <c>registration_access_token</c>, protected with the portal's data-protection keys; null with no <paramref name="ManagementUri"/>.</param>
/// <param name="CreatedAt">When it was registered.</param>
public sealed record OAuthClientRegistration(string ClientId, string Application, string Issuer, string? ManagementUri, string? ManagementToken, DateTimeOffset CreatedAt);
