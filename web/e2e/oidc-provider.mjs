// A real OpenID provider for the browser tests: `oidc-provider` (OpenID Certified), with its
// development login page (any login, any password). The login is the account id; its email is
// `<login>@relance.test`, verified. Access tokens are JWTs (ES256) for the audience
// `relance-api`, carrying the email so Relance can link the account on first sign-in.
//
// node web/e2e/oidc-provider.mjs <port> <web app origin> [access token seconds, 600]
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const [port, appOrigin, tokenSeconds = '600'] = process.argv.slice(2);
// Short-lived tokens make the web app's renewal happen within a test.
const ttl = Number(tokenSeconds);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-1', alg: 'ES256', use: 'sig' };
const email = (id) => `${id}@relance.test`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'relance-web',
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      redirect_uris: [`${appOrigin}/auth/callback`, `${appOrigin}/auth/silent`],
      post_logout_redirect_uris: [`${appOrigin}/`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES256',
    },
  ],
  pkce: { required: () => true },
  jwks: { keys: [jwk] },
  cookies: { keys: ['relance-e2e-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, email: email(id), email_verified: true, name: id }),
  }),
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:relance:api',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'openid profile email',
        audience: 'relance-api',
        accessTokenTTL: ttl,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  // The access token carries the email: Relance links an account on its first sign-in by it.
  extraTokenClaims: (_ctx, token) =>
    token.accountId ? { email: email(token.accountId), email_verified: true } : undefined,
  // Consent is implied for the first-party web app.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email offline_access');
    grant.addResourceScope('urn:relance:api', 'openid profile email');
    await grant.save();
    return grant;
  },
  ttl: { AccessToken: ttl, IdToken: ttl, Session: 3600, Grant: 3600, Interaction: 600 },
});
provider.proxy = false;
provider.listen(Number(port), '127.0.0.1', () => console.log(`oidc-provider ready at ${issuer}`));
