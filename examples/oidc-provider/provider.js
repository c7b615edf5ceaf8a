// A local OpenID Connect provider for login-oidc's end-to-end tests: panva/oidc-provider (the
// OpenID-certified Node implementation) with one confidential test client, PKCE required, its
// development login and consent pages, and one account. Listens on 127.0.0.1 only.
//
//   node provider.js --port 4010 --redirect-uri http://127.0.0.1:8080/oidc/callback
//
// Options (flags or environment variables):
//   --port, OIDC_PORT                 port on 127.0.0.1 (required)
//   --redirect-uri, OIDC_REDIRECT_URI the test client's redirect URI (repeatable, required)
//   --client-id, OIDC_CLIENT_ID       default "login-oidc-test"
//   --client-secret, OIDC_CLIENT_SECRET
//   --id-token-ttl, OIDC_ID_TOKEN_TTL seconds an ID token is valid (default 300)
//   --auth-method, OIDC_AUTH_METHOD   the only client authentication method the provider offers
//                                     and the test client is registered for (default: the
//                                     client is client_secret_basic, every method offered;
//                                     client_secret_post: a provider that takes the secret in the
//                                     body only, and lists only that in its discovery document)
//   --claims-in-userinfo              the ID token carries only sub (and the protocol claims);
//                                     email and profile come from UserInfo, as Core 5.4 has it
//                                     for the code flow (Okta's default)
//
// Test-only hooks, to make the errors a relying party must refuse:
//   --clock-skew, OIDC_CLOCK_SKEW     seconds added to the provider's clock (negative: every token
//                                     it issues is already expired for a client on the real clock)
//   --jwks, OIDC_JWKS                 what /jwks publishes:
//       real               the signing key (default)
//       impostor           an unrelated key under another kid: tokens are signed by a key the
//                          client cannot find
//       impostor-same-kid  an unrelated key under the signing key's kid: the signature does not
//                          verify
//       stale-then-real    first an old key only (the client's cached keys before a rotation),
//                          then the real one, as after a key rotation
// GET /__test/stats answers {"jwksFetches": n}, how often /jwks was fetched.
//
// JWT access tokens for APIs (resource indicators, RFC 8707; JWT format, RFC 9068): the test
// client may use the client_credentials grant with resource=https://api.example (scopes
// reports:read reports:write) or resource=https://other-api.example (scope other:read); the
// access tokens are RS256 JWTs (typ at+jwt) for that audience, signed with the signing key.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'id-token-ttl': { type: 'string' },
    'auth-method': { type: 'string' },
    'claims-in-userinfo': { type: 'boolean' },
    'clock-skew': { type: 'string' },
    jwks: { type: 'string' },
  },
});

const port = Number(args.port ?? process.env.OIDC_PORT);
const redirectUris = args['redirect-uri'] ?? (process.env.OIDC_REDIRECT_URI ?? '').split(/\s+/).filter(Boolean);
const clientId = args['client-id'] ?? process.env.OIDC_CLIENT_ID ?? 'login-oidc-test';
const clientSecret = args['client-secret'] ?? process.env.OIDC_CLIENT_SECRET ?? 'login-oidc-test-secret-0123456789abcdef';
const idTokenTtl = Number(args['id-token-ttl'] ?? process.env.OIDC_ID_TOKEN_TTL ?? 300);
const clockSkew = Number(args['clock-skew'] ?? process.env.OIDC_CLOCK_SKEW ?? 0);
const jwksMode = args.jwks ?? process.env.OIDC_JWKS ?? 'real';
const onlyAuthMethod = args['auth-method'] ?? process.env.OIDC_AUTH_METHOD;
const authMethod = onlyAuthMethod ?? 'client_secret_basic';
const claimsInUserinfo = args['claims-in-userinfo'] ?? false;

function die(message) {
  console.error(`oidc-provider: ${message}`);
  process.exit(2);
}
if (!Number.isInteger(port) || port <= 0 || port > 65535) die('give --port (or OIDC_PORT)');
if (redirectUris.length === 0) die('give --redirect-uri (or OIDC_REDIRECT_URI)');
if (!Number.isFinite(idTokenTtl) || idTokenTtl <= 0) die('--id-token-ttl must be a positive number');
if (!Number.isFinite(clockSkew)) die('--clock-skew must be a number of seconds');
if (!['real', 'impostor', 'impostor-same-kid', 'stale-then-real'].includes(jwksMode)) die(`unknown --jwks ${jwksMode}`);
if (!['client_secret_basic', 'client_secret_post'].includes(authMethod)) die(`unknown --auth-method ${authMethod}`);

if (clockSkew !== 0) {
  // Every timestamp the provider writes (iat, exp, auth_time) comes from Date.now().
  const realNow = Date.now;
  Date.now = () => realNow() + clockSkew * 1000;
}

function rsaKey(kid) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}
function publicPart({ kty, n, e, kid, alg, use }) {
  return { kty, n, e, kid, alg, use };
}

const signingKey = rsaKey('signing-key');
const published = {
  real: () => [publicPart(signingKey)],
  impostor: () => [publicPart(rsaKey('impostor-key'))],
  'impostor-same-kid': () => [publicPart(rsaKey(signingKey.kid))],
  'stale-then-real': () => (jwksFetches === 1 ? [publicPart(rsaKey('retired-key'))] : [publicPart(signingKey)]),
}[jwksMode];
let jwksFetches = 0;

const accounts = {
  alice: { email: 'alice@example.org', email_verified: true, name: 'Alice Liddell' },
  bob: { email: 'bob@example.org', email_verified: false, name: 'Bob' },
};

const resourceServers = {
  'https://api.example': 'reports:read reports:write',
  'https://other-api.example': 'other:read',
};

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: authMethod,
    id_token_signed_response_alg: 'RS256',
  }],
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resourceIndicator) {
        const scope = resourceServers[resourceIndicator];
        if (!scope) throw new errors.InvalidTarget();
        return {
          scope,
          audience: resourceIndicator,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  scopes: ['openid', 'email', 'profile', 'reports:read', 'reports:write', 'other:read'],
  ...(onlyAuthMethod ? { clientAuthMethods: [onlyAuthMethod] } : {}),
  // PKCE (S256, the only method oidc-provider 9 offers) for every client, confidential ones too.
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // By default the scope's claims go into the ID token itself, as Google and Keycloak do;
  // --claims-in-userinfo keeps them for UserInfo.
  conformIdTokenClaims: claimsInUserinfo,
  ttl: { IdToken: idTokenTtl },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>oidc-provider error</title><p>${out.error}: ${out.error_description ?? ''}</p>`;
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/stats') {
    ctx.body = { jwksFetches };
    return;
  }
  if (ctx.path === '/jwks') {
    jwksFetches += 1;
    if (jwksMode !== 'real') {
      ctx.type = 'application/jwk-set+json';
      ctx.body = JSON.stringify({ keys: published() });
      return;
    }
  }
  await next();
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer} (jwks: ${jwksMode}, clock skew: ${clockSkew}s)`);
});
server.on('error', (error) => die(error.message));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
