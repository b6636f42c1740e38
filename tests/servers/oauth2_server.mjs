// A real OAuth 2.0 authorization server (npm @node-oauth/oauth2-server behind express) for the tests.
//
//   node tests/servers/oauth2_server.mjs [PORT] [CONFIG_JSON]
//
// PORT (argv or $PORT, default 0 = any free port). CONFIG_JSON (argv or $OAUTH2_SERVER_CONFIG) may set
// access_token_ttl (s, default 3600), refresh_token_ttl (default 86400) and token_ttl_by_client (client name ->
// access token lifetime of that client's tokens, e.g. {"app": 90}; default access_token_ttl).
// Prints `READY <port>` on stdout once listening. Clients and users: GET /_clients.
//
// POST /token  password, refresh_token (rotating; an old refresh token is rejected), client_credentials.
//              Client authentication by HTTP Basic only.
// GET  /me     Bearer access token -> the user it was issued for.
import { randomBytes } from 'node:crypto';

import express from 'express';
import OAuth2Server from '@node-oauth/oauth2-server';

const { Request, Response, OAuthError } = OAuth2Server;

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const config = JSON.parse(process.argv[3] ?? process.env.OAUTH2_SERVER_CONFIG ?? '{}');
const accessTtl = Number(config.access_token_ttl ?? 3600);
const refreshTtl = Number(config.refresh_token_ttl ?? 86400);
const ttlByClient = config.token_ttl_by_client ?? {};

const SCOPES = ['read', 'write'];
const CLIENTS = {
  app: {
    client_id: 'node-app', client_secret: 'node-app-secret', client_auth: 'client_secret_basic',
    grant_types: ['password', 'refresh_token', 'client_credentials'], scope: SCOPES.join(' '),
  },
  reporter: {
    client_id: 'node-reporter', client_secret: 'node-reporter-secret', client_auth: 'client_secret_basic',
    grant_types: ['client_credentials'], scope: 'read',
  },
};
const USERS = {
  admin: { username: 'admin@example.org', password: 'admin-password', id: 'u-1', name: 'Admin' },
};

// In-memory stores, keyed by token string.
const accessTokens = new Map();
const refreshTokens = new Map();

const model = {
  async getClient(clientId, clientSecret) {
    const [name, c] = Object.entries(CLIENTS).find(([, x]) => x.client_id === clientId) ?? [];
    if (!c || (clientSecret !== undefined && clientSecret !== null && clientSecret !== c.client_secret)) {
      return null;
    }
    // oauth2-server takes a client's own accessTokenLifetime over the server's (as Keycloak's per-client lifespan).
    const lifetime = ttlByClient[name] === undefined ? {} : { accessTokenLifetime: Number(ttlByClient[name]) };
    return { id: c.client_id, grants: c.grant_types, ...lifetime };
  },
  async getUser(username, password) {
    const u = Object.values(USERS).find((x) => x.username === username && x.password === password);
    return u ? { id: u.id, username: u.username, name: u.name } : null;
  },
  async getUserFromClient(client) {
    // client_credentials tokens act for the client itself.
    return { id: `client:${client.id}`, client: client.id };
  },
  async validateScope(_user, _client, scope) {
    if (!scope) return ['read'];
    return scope.every((s) => SCOPES.includes(s)) ? scope : false;
  },
  async generateAccessToken() { return randomBytes(24).toString('base64url'); },
  async generateRefreshToken() { return randomBytes(24).toString('base64url'); },
  async saveToken(token, client, user) {
    const saved = { ...token, client, user };
    accessTokens.set(token.accessToken, saved);
    if (token.refreshToken) refreshTokens.set(token.refreshToken, saved);
    return saved;
  },
  async getAccessToken(value) { return accessTokens.get(value) ?? null; },
  async getRefreshToken(value) { return refreshTokens.get(value) ?? null; },
  async revokeToken(token) { return refreshTokens.delete(token.refreshToken); },
};

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: accessTtl,
  refreshTokenLifetime: refreshTtl,
  alwaysIssueNewRefreshToken: true, // rotate: the used refresh token is revoked
});

const stats = { token_requests: 0, by_grant: {} };

// oauth2-server puts WWW-Authenticate on its own Response object; copy it onto express's.
function sendOAuthError(res, err, oauthResponse) {
  const challenge = oauthResponse?.headers?.['www-authenticate'];
  if (challenge) res.set('WWW-Authenticate', challenge);
  const status = err instanceof OAuthError ? err.code : 500;
  res.status(status).json({ error: err.name || 'server_error', error_description: err.message });
}

const app = express();
app.disable('x-powered-by');
app.use(express.urlencoded({ extended: false }));

app.get('/_stats', (_req, res) => res.json(stats));
app.post('/_stats/reset', (_req, res) => {
  stats.token_requests = 0;
  stats.by_grant = {};
  res.json(stats);
});
app.get('/_clients', (_req, res) => res.json({ clients: CLIENTS, users: USERS, scopes: SCOPES }));

app.post('/token', async (req, res) => {
  stats.token_requests += 1;
  const grant = String(req.body?.grant_type ?? '');
  stats.by_grant[grant] = (stats.by_grant[grant] ?? 0) + 1;

  // oauth2-server also accepts client_id/client_secret in the body; this server (like many
  // real ones) insists on HTTP Basic, so a body-only client is refused as invalid_client.
  if (!/^basic /i.test(req.headers.authorization ?? '')) {
    res.set('WWW-Authenticate', 'Basic realm="oauth2-server"');
    res.status(401).json({
      error: 'invalid_client', error_description: 'client authentication must use HTTP Basic',
    });
    return;
  }
  const response = new Response(res);
  try {
    const token = await oauth.token(new Request(req), response);
    const body = {
      access_token: token.accessToken,
      token_type: 'Bearer',
      expires_in: Math.round((token.accessTokenExpiresAt - Date.now()) / 1000),
    };
    if (token.refreshToken) body.refresh_token = token.refreshToken;
    if (token.scope) body.scope = [].concat(token.scope).join(' ');
    res.set('Cache-Control', 'no-store').json(body);
  } catch (err) {
    sendOAuthError(res, err, response);
  }
});

app.get('/me', async (req, res) => {
  const response = new Response(res);
  try {
    const token = await oauth.authenticate(new Request(req), response);
    const scope = [].concat(token.scope ?? []).join(' ');
    res.json({ user: token.user, client_id: token.client.id, scope });
  } catch (err) {
    sendOAuthError(res, err, response);
  }
});

const server = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(`READY ${server.address().port}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
// The launcher passes its pid: exit when it is gone, even if it died without stopping us (kill -9).
const parentPid = Number(process.env.TEST_SERVER_PARENT_PID);
if (parentPid) {
  setInterval(() => {
    try { process.kill(parentPid, 0); } catch { process.exit(0); }
  }, 1000).unref();
}
