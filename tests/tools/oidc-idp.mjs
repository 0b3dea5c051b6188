// A real OpenID Connect provider for the console's single sign-on tests: panva's oidc-provider (OpenID Certified),
// with its own development sign-in pages (any password; the login names an account below) and consent page.
//
//   node oidc-idp.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URIS ACCOUNTS_JSON
//
// REDIRECT_URIS is one redirect URI, or several separated by commas (the client is registered with each). Signing out
// at the provider (/session/end) posts a logout token to the first site's /sso/backchannel-logout.
//
// ACCOUNTS_JSON maps each login to the claims the provider releases for it, e.g.
//   {"alice":{"email":"alice@example.com","email_verified":true,"name":"Alice"}}
// Prints "ready ISSUER" once it listens on 127.0.0.1:PORT; stops on SIGTERM or when its stdin closes.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri, accountsJson] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !redirectUri || !accountsJson) {
  console.error('usage: node oidc-idp.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI ACCOUNTS_JSON');
  process.exit(2);
}

// ACCOUNTS_JSON may also be @FILE: the file is read again at every look-up, so a test can change an account's claims
// (an address given to someone else, or changed) while the provider runs.
const accounts = () => JSON.parse(accountsJson.startsWith('@') ? readFileSync(accountsJson.slice(1), 'utf8') : accountsJson);
const issuer = `http://127.0.0.1:${port}`;
const resource = process.env.OIDC_RESOURCE || 'http://gateway.test/';
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUri.split(','),
    // Where RP-initiated logout may send the browser back to: each site's /sso/signed-out beside its callback.
    post_logout_redirect_uris: redirectUri.split(',').map((u) => u.replace(/\/sso\/callback$/, '/sso/signed-out')),
    // Where the provider posts a logout token when someone signs out there (Back-Channel Logout): the first site's
    // /sso/backchannel-logout (a client has one). OIDC_NO_BACKCHANNEL=1: none registered.
    ...(process.env.OIDC_NO_BACKCHANNEL === '1' ? {} : { backchannel_logout_uri: redirectUri.split(',')[0].replace(/\/sso\/callback$/, '/sso/backchannel-logout') }),
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  cookies: { keys: ['test-only-cookie-key-not-a-secret'] },
  // OIDC_NO_END_SESSION=1: no RP-initiated logout (no end_session_endpoint in the discovery document).
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: process.env.OIDC_NO_END_SESSION !== '1' },
    backchannelLogout: { enabled: true },
    // OIDC_REGISTRATION=TOKEN: Dynamic Client Registration (RFC 7591) with TOKEN as its initial access token ("open":
    // none needed) and its management (RFC 7592); clients may use the client credentials grant, and their access tokens
    // are JWTs for the resource OIDC_RESOURCE (default http://gateway.test/).
    ...(process.env.OIDC_REGISTRATION ? {
      registration: { enabled: true, initialAccessToken: process.env.OIDC_REGISTRATION === 'open' ? false : process.env.OIDC_REGISTRATION },
      registrationManagement: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Only for clients of the client credentials grant: a sign-in's access token stays one for the userinfo endpoint.
        defaultResource: (ctx, client) => (client.grantTypes.includes('client_credentials') ? resource : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'api', audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } } }),
      },
    } : {}),
  },
  // The provider's outgoing requests (the logout tokens it posts) refuse special-use addresses, loopback among them,
  // against server-side request forgery; this test provider posts only to the sites under test, on loopback.
  fetch: (url, options) => {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
  async findAccount(ctx, sub) {
    const claims = accounts()[sub];
    return claims ? { accountId: sub, async claims() { return { sub, ...claims }; } } : undefined;
  },
});

provider.on('backchannel.error', (ctx, error, client) => console.error(`backchannel logout to ${client.backchannelLogoutUri} failed: ${error.message}`));
const server = provider.listen(Number(port), '127.0.0.1', () => console.log(`ready ${issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
