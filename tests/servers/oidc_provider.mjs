// A real OpenID Connect / OAuth 2.0 authorization server (npm oidc-provider) for the test suite.
//
//   node tests/servers/oidc_provider.mjs [PORT] [CONFIG_JSON]
//
// PORT (argv or $PORT, default 0 = any free port). CONFIG_JSON (argv or $OIDC_PROVIDER_CONFIG) may set:
//   access_token_ttl (s, default 3600), client_credentials_ttl (default access_token_ttl),
//   refresh_token_ttl (default 86400), cc_token_format ("opaque" | "jwt", default "opaque"),
//   private_key_jwt_jwks ({keys: [public JWK]}: registers client `jwt_client`, private_key_jwt only; oidc-provider
//   itself verifies the assertion's signature, audience and lifetime).
// Prints `READY <port>` on stdout once listening. Clients and users: GET /_clients.
import * as http from 'node:http';
import * as querystring from 'node:querystring';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const config = JSON.parse(process.argv[3] ?? process.env.OIDC_PROVIDER_CONFIG ?? '{}');
const accessTtl = Number(config.access_token_ttl ?? 3600);
const ccTtl = Number(config.client_credentials_ttl ?? accessTtl);
const refreshTtl = Number(config.refresh_token_ttl ?? 86400);

// The resource server that client_credentials tokens are issued for (and whose scopes they carry).
const API_RESOURCE = 'urn:tokenops:api';
const API_SCOPES = 'api:read api:write';
const REDIRECT_URI = 'http://127.0.0.1/callback';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// Key = the name tests use (server.clients[name]); client_auth is what our own check enforces.
const CLIENTS = {
  cc_basic: {
    client_id: 'cc-basic', client_secret: 'cc-basic-secret', client_auth: 'client_secret_basic',
    grant_types: ['client_credentials'], scope: API_SCOPES,
  },
  cc_post: {
    client_id: 'cc-post', client_secret: 'cc-post-secret', client_auth: 'client_secret_post',
    grant_types: ['client_credentials'], scope: API_SCOPES,
  },
  web: {
    client_id: 'web-app', client_secret: 'web-app-secret', client_auth: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT_URI],
    scope: 'openid offline_access profile email',
  },
  public: {
    client_id: 'public-app', client_secret: null, client_auth: 'none',
    grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT_URI],
    scope: 'openid offline_access profile email',
  },
  device: {
    client_id: 'device-app', client_secret: null, client_auth: 'none',
    grant_types: [DEVICE_GRANT, 'refresh_token'], scope: 'openid offline_access profile email',
  },
};
if (config.private_key_jwt_jwks) {
  CLIENTS.jwt_client = {
    client_id: 'jwt-app', client_secret: null, client_auth: 'private_key_jwt',
    grant_types: ['client_credentials'], scope: API_SCOPES, jwks: config.private_key_jwt_jwks,
  };
}
// devInteractions accepts any login name and ignores the password; this is the one tests use.
const USERS = { alice: { username: 'alice', password: 'any-password', email: 'alice@example.org' } };

const stats = { token_requests: 0, by_grant: {} };

const routes = {
  token: '/token', introspection: '/token/introspection', revocation: '/token/revocation',
};
const ENFORCED_PATHS = new Set(Object.values(routes));

function jsonReply(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

async function readRaw(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// Which client-auth method a request used, and for which client id.
function presentedAuth(ctx, form) {
  const header = ctx.headers.authorization;
  if (header && /^basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const id = decodeURIComponent(decoded.split(':')[0].replace(/\+/g, '%20'));
    return { method: 'client_secret_basic', clientId: id };
  }
  if (form.client_secret) return { method: 'client_secret_post', clientId: form.client_id };
  if (form.client_assertion) return { method: 'private_key_jwt', clientId: form.client_id };
  return { method: 'none', clientId: form.client_id };
}

// Test-only endpoints, stats, and per-client auth method enforcement. oidc-provider treats
// client_secret_basic and client_secret_post as interchangeable, so it cannot catch a client
// that uses the wrong one; we reject that ourselves before it sees the request.
async function testHooks(ctx, next) {
  if (ctx.path === '/_stats' && ctx.method === 'GET') return jsonReply(ctx, 200, stats);
  if (ctx.path === '/_stats/reset' && ctx.method === 'POST') {
    stats.token_requests = 0;
    stats.by_grant = {};
    return jsonReply(ctx, 200, stats);
  }
  if (ctx.path === '/_clients' && ctx.method === 'GET') {
    return jsonReply(ctx, 200, {
      clients: CLIENTS, users: USERS, redirect_uri: REDIRECT_URI,
      api_resource: API_RESOURCE, api_scopes: API_SCOPES,
    });
  }
  if (ctx.method !== 'POST' || !ENFORCED_PATHS.has(ctx.path)
      || !ctx.is('application/x-www-form-urlencoded')) {
    return next();
  }

  // Read the body once; oidc-provider then uses req.body (it warns once about that on stderr).
  const raw = await readRaw(ctx.req);
  ctx.req.body = raw;
  const form = querystring.parse(raw);

  if (ctx.path === routes.token) {
    stats.token_requests += 1;
    const grant = String(form.grant_type ?? '');
    stats.by_grant[grant] = (stats.by_grant[grant] ?? 0) + 1;
  }

  const { method, clientId } = presentedAuth(ctx, form);
  const client = Object.values(CLIENTS).find((c) => c.client_id === clientId);
  if (client && method !== client.client_auth && client.client_auth !== 'none') {
    return jsonReply(ctx, 401, {
      error: 'invalid_client',
      error_description: `client authentication failed: ${client.client_id} only accepts ${client.client_auth}`,
    });
  }
  return next();
}

function clientMetadata(c) {
  const meta = {
    client_id: c.client_id,
    token_endpoint_auth_method: c.client_auth,
    grant_types: c.grant_types,
    response_types: c.grant_types.includes('authorization_code') ? ['code'] : [],
    redirect_uris: c.redirect_uris ?? [],
    scope: c.scope,
  };
  if (c.client_secret) meta.client_secret = c.client_secret;
  if (c.jwks) meta.jwks = c.jwks;
  // Native clients may use any loopback port with their registered redirect URI (RFC 8252 section 7.3), which the
  // onboarding listener relies on; devices are native too.
  if (c.grant_types.includes(DEVICE_GRANT) || c.redirect_uris) meta.application_type = 'native';
  return meta;
}

const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const actualPort = server.address().port;
  const provider = new Provider(`http://127.0.0.1:${actualPort}`, {
    clients: Object.values(CLIENTS).map(clientMetadata),
    scopes: ['openid', 'offline_access', 'profile', 'email', ...API_SCOPES.split(' ')],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: `${sub}@example.org`, email_verified: true, name: sub };
        },
      };
    },
    cookies: { keys: ['tokenops-test-cookie-key'] },
    routes,
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    // Every refresh rotates (the default only rotates near the end of the token's life).
    rotateRefreshToken: true,
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: ccTtl,
      RefreshToken: refreshTtl,
      AuthorizationCode: 60,
      DeviceCode: 600,
      Grant: refreshTtl,
      Interaction: 600,
      Session: 86400,
      IdToken: 3600,
    },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      // client_credentials tokens only carry non-OIDC scopes when issued for a resource server:
      // give those requests a default resource so `scope=api:read` works without `resource=`.
      resourceIndicators: {
        enabled: true,
        defaultResource(ctx, _client, oneOf) {
          if (oneOf) return oneOf;
          return ctx.oidc.params?.grant_type === 'client_credentials' ? API_RESOURCE : undefined;
        },
        useGrantedResource: () => false,
        getResourceServerInfo(_ctx, resource) {
          if (resource !== API_RESOURCE) throw new Provider.errors.InvalidTarget();
          return {
            scope: API_SCOPES,
            audience: API_RESOURCE,
            accessTokenTTL: ccTtl,
            accessTokenFormat: config.cc_token_format === 'jwt' ? 'jwt' : 'opaque',
          };
        },
      },
    },
  });
  provider.use(testHooks);
  server.on('request', provider.callback());
  process.stdout.write(`READY ${actualPort}\n`);
});

// Stop cleanly when the launcher sends SIGTERM.
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
// The launcher passes its pid: exit when it is gone, even if it died without stopping us (kill -9).
const parentPid = Number(process.env.TEST_SERVER_PARENT_PID);
if (parentPid) {
  setInterval(() => {
    try { process.kill(parentPid, 0); } catch { process.exit(0); }
  }, 1000).unref();
}
