#!/usr/bin/env node
'use strict';

// A Keycloak-shaped OAuth 2.0 token endpoint for flowcred's tests. It
// serves the password and refresh_token grants through
// @node-oauth/oauth2-server, plus logout and revocation, over HTTPS on
// 127.0.0.1, and records every request for the tests to inspect.
//
// Usage: node token-server.js --cert CERT.pem --key KEY.pem --port-file FILE
//                             [--fixture FILE.json]

const fs = require('fs');
const https = require('https');
const path = require('path');
const OAuth2Server = require('@node-oauth/oauth2-server');
const {
  MalformedEscapeError,
  parseForm,
  firstValues,
  duplicatedNames,
  parseBasicCredentials,
} = require('./form');
const { RealmDefinitionError, normalizeRealm, normalizeFixture } = require('./realm');
const {
  KeycloakError,
  SessionStore,
  transport,
  authenticateClient,
  createModel,
  mapLibraryError,
  buildTokenResponse,
} = require('./keycloak-model');

const FORM_TYPE = 'application/x-www-form-urlencoded';
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_RECORDED_REQUESTS = 10000;
const SHUTDOWN_GRACE_MS = 2000;

// Every grant type Keycloak recognises; others are rejected before client
// authentication, as Keycloak's TokenEndpoint.checkGrantType() does.
const KEYCLOAK_GRANT_TYPES = new Set([
  'authorization_code',
  'refresh_token',
  'password',
  'client_credentials',
  'urn:ietf:params:oauth:grant-type:token-exchange',
  'urn:ietf:params:oauth:grant-type:uma-ticket',
  'urn:ietf:params:oauth:grant-type:device_code',
  'urn:openid:params:grant-type:ciba',
]);

const REALM_ENDPOINT = /^(?:\/auth)?\/realms\/([^/]+)\/protocol\/openid-connect\/(token|logout|revoke)$/;
const TEST_REALM_PATH = /^\/_test\/realms\/([^/]+)$/;

function log(message) {
  process.stderr.write(`token-server: ${message}\n`);
}

function usage(message) {
  log(message);
  log('usage: node token-server.js --cert CERT.pem --key KEY.pem --port-file FILE [--fixture FILE.json]');
  process.exit(2);
}

function parseArguments(argv) {
  const options = { fixture: path.join(__dirname, 'fixture.json') };
  const names = { '--cert': 'cert', '--key': 'key', '--port-file': 'portFile', '--fixture': 'fixture' };
  for (let i = 0; i < argv.length; i++) {
    const name = names[argv[i]];
    if (!name) usage(`unknown argument: ${argv[i]}`);
    if (i + 1 >= argv.length) usage(`missing value for ${argv[i]}`);
    options[name] = argv[++i];
  }
  for (const required of ['cert', 'key', 'portFile']) {
    if (!options[required]) usage(`missing --${required.replace('portFile', 'port-file')}`);
  }
  return options;
}

function loadFixture(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    usage(`cannot read fixture ${file}: ${error.message}`);
  }
  try {
    return normalizeFixture(JSON.parse(text));
  } catch (error) {
    usage(`invalid fixture ${file}: ${error.message}`);
  }
  return null;
}

/** The server's in-memory state. POST /_test/reset clears the requests and the sessions. */
const state = {
  fixtureFile: null,
  realms: new Map(),
  store: new SessionStore(),
  requests: [],
  nextRequestId: 1,
};

function isLoopback(address) {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function canWrite(res) {
  return !res.writableEnded && !res.destroyed && !res.socket?.destroyed;
}

function sendJson(res, status, body, headers = {}) {
  if (!canWrite(res)) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendEmpty(res, status, headers = {}) {
  if (!canWrite(res)) return;
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

// Keycloak sets these on every token endpoint response, errors included.
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

function sendKeycloakError(res, error, record, headers = NO_STORE) {
  const body = { error: error.error };
  if (error.description !== undefined) body.error_description = error.description;
  record.error = error.error;
  sendJson(res, error.code, body, headers);
}

function recordRequest(entry) {
  state.requests.push(entry);
  if (state.requests.length > MAX_RECORDED_REQUESTS) state.requests.shift();
  return entry;
}

/**
 * Finds the client credentials as ClientIdAndSecretAuthenticator does:
 * Basic credentials first, then client_id and client_secret form fields,
 * which take precedence over them. `challenge` is set when an unusable
 * Authorization header came without a client_id field. Keycloak then
 * responds with 401 and a Basic challenge.
 */
function resolveClientCredentials(realm, authorization, fields) {
  const credentials = { method: null, clientId: undefined, clientSecret: undefined, challenge: false };
  if (authorization !== undefined) {
    const basic = parseBasicCredentials(authorization, realm.basicAuth === 'rfc6749');
    if (basic) {
      credentials.method = 'basic';
      credentials.clientId = basic.clientId;
      credentials.clientSecret = basic.clientSecret;
    } else if (fields.client_id === undefined) {
      credentials.challenge = true;
      return credentials;
    }
  }
  if (fields.client_id !== undefined) {
    credentials.method = 'post';
    credentials.clientId = fields.client_id;
  }
  if (fields.client_secret !== undefined) credentials.clientSecret = fields.client_secret;
  return credentials;
}

function sendBasicChallenge(res, realm, record) {
  record.error = '(basic challenge)';
  sendEmpty(res, 401, { ...NO_STORE, 'WWW-Authenticate': `Basic realm="${realm.name}"` });
}

function issuerOf(req, realm) {
  const prefix = req.url.startsWith('/auth/') ? '/auth' : '';
  return `https://${req.headers.host || '127.0.0.1'}${prefix}/realms/${realm.name}`;
}

async function handleToken(req, res, realm, request) {
  const { fields, credentials, record } = request;
  const grantType = fields.grant_type;
  if (grantType === undefined) {
    return sendKeycloakError(res, new KeycloakError(400, 'invalid_request', 'Missing form parameter: grant_type'), record);
  }
  if (!KEYCLOAK_GRANT_TYPES.has(grantType)) {
    return sendKeycloakError(res, new KeycloakError(400, 'unsupported_grant_type', 'Unsupported grant_type'), record);
  }
  if (credentials.challenge) return sendBasicChallenge(res, realm, record);

  const context = {
    realm,
    store: state.store,
    issuer: issuerOf(req, realm),
    scope: fields.scope,
    otp: fields.otp !== undefined ? fields.otp : fields.totp,
    duplicatedNames: request.duplicatedNames,
    client: null,
    session: null,
    sessionId: null,
    grantedScope: [],
  };
  const libraryBody = {
    grant_type: grantType,
    client_id: transport.encode(credentials.clientId),
    client_secret: transport.encode(credentials.clientSecret),
  };
  if (grantType === 'password') {
    libraryBody.username = transport.encode(fields.username);
    libraryBody.password = transport.encode(fields.password);
  }
  if (grantType === 'refresh_token' && fields.refresh_token !== undefined) {
    libraryBody.refresh_token = transport.encode(fields.refresh_token);
  }
  const libraryRequest = new OAuth2Server.Request({
    method: 'POST',
    headers: { 'content-type': FORM_TYPE, 'content-length': String(request.body.length) },
    query: {},
    body: libraryBody,
  });
  const libraryResponse = new OAuth2Server.Response({});
  const server = new OAuth2Server({ model: createModel(context) });

  let saved;
  try {
    saved = await server.token(libraryRequest, libraryResponse, {
      accessTokenLifetime: realm.accessTokenLifespan,
      refreshTokenLifetime: realm.refreshTokenLifespan,
      alwaysIssueNewRefreshToken: true,
    });
  } catch (error) {
    const mapped = mapLibraryError(error, grantType, fields);
    if (mapped.code === 500) log(`internal error: ${error.stack || error}${error.inner ? ` (${error.inner.stack})` : ''}`);
    return sendKeycloakError(res, mapped, record);
  }
  return sendJson(res, 200, buildTokenResponse(context, saved), NO_STORE);
}

function handleLogout(res, realm, request) {
  const { fields, credentials, record } = request;
  if (credentials.challenge) return sendBasicChallenge(res, realm, record);
  let client;
  try {
    client = authenticateClient(realm, credentials);
  } catch (error) {
    return sendKeycloakError(res, error, record);
  }
  const refreshToken = fields.refresh_token;
  if (refreshToken === undefined) {
    return sendKeycloakError(res, new KeycloakError(400, 'invalid_request', 'No refresh token'), record);
  }
  const token = state.store.refreshTokens.get(refreshToken);
  if (!token || token.realm !== realm.name) {
    return sendKeycloakError(res, new KeycloakError(400, 'invalid_grant', 'Invalid refresh token'), record);
  }
  if (token.clientId !== client.clientId) {
    return sendKeycloakError(res, new KeycloakError(400, 'invalid_grant',
      "Invalid refresh token. Token client and authorized client don't match"), record);
  }
  // Keycloak responds with 204 as well when the session has already ended.
  state.store.endSession(state.store.sessions.get(token.sessionId));
  return sendEmpty(res, 204, NO_STORE);
}

function handleRevoke(res, realm, request) {
  const { fields, credentials, record } = request;
  if (credentials.challenge) return sendBasicChallenge(res, realm, record);
  let client;
  try {
    client = authenticateClient(realm, credentials);
  } catch (error) {
    return sendKeycloakError(res, error, record);
  }
  const encoded = fields.token;
  if (encoded === undefined) {
    return sendKeycloakError(res, new KeycloakError(400, 'invalid_request', 'Token not provided'), record);
  }

  // RFC 7009 section 2.2: an invalid token is not an error. Keycloak still
  // puts invalid_token in the body of its 200 response.
  const invalidToken = new KeycloakError(200, 'invalid_token', 'Invalid token');
  const refresh = state.store.refreshTokens.get(encoded);
  const access = state.store.accessTokens.get(encoded);
  const token = refresh || access;
  if (!token || token.realm !== realm.name) return sendKeycloakError(res, invalidToken, record);
  if (token.clientId !== client.clientId) {
    return sendKeycloakError(res, new KeycloakError(400, 'invalid_request', 'Unmatching clients'), record);
  }

  const session = state.store.sessions.get(token.sessionId);
  if (!session || session.ended) return sendKeycloakError(res, invalidToken, record);
  if (refresh) {
    state.store.endSessionsOf(realm.name, client.clientId, session.username);
  } else {
    access.revoked = true;
  }
  return sendEmpty(res, 200, NO_STORE);
}

async function answerCanned(req, res, canned, record) {
  record.canned = true;
  if (canned.delayMs > 0) await delay(canned.delayMs);
  if (canned.drop) {
    record.error = '(dropped)';
    req.socket.destroy();
    return;
  }
  if (canned.hang) {
    // No response at all: the socket stays open until the client closes it
    // or the server shuts down.
    record.error = '(hung)';
    req.socket.setTimeout(0);
    return;
  }
  if (!canWrite(res)) return;
  const headers = { ...canned.headers };
  const names = Object.keys(headers).map((name) => name.toLowerCase());
  if (!names.includes('content-length') && !names.includes('transfer-encoding')) {
    headers['Content-Length'] = Buffer.byteLength(canned.body);
  }
  res.writeHead(canned.status, headers);
  res.end(canned.body);
}

/** Decodes the form and the client credentials of a realm endpoint request. */
function decodeRealmRequest(req, realm, body, record) {
  const pairs = parseForm(body);
  const fields = firstValues(pairs);
  record.params = pairs;
  record.form = { ...fields };
  record.grant_type = fields.grant_type === undefined ? null : fields.grant_type;
  const credentials = resolveClientCredentials(realm, req.headers.authorization, fields);
  record.client_auth_method = credentials.method;
  record.client_id = credentials.clientId === undefined ? null : credentials.clientId;
  record.client_secret = credentials.clientSecret === undefined ? null : credentials.clientSecret;
  return { pairs, fields, credentials, duplicatedNames: duplicatedNames(pairs), body, record };
}

function isFormContentType(contentType) {
  if (typeof contentType !== 'string') return false;
  return contentType.split(';')[0].trim().toLowerCase() === FORM_TYPE;
}

function createRecord(req, realmName, endpoint, pathname) {
  return recordRequest({
    id: state.nextRequestId++,
    time: new Date().toISOString(),
    realm: realmName,
    endpoint,
    method: req.method,
    path: pathname,
    content_type: req.headers['content-type'] === undefined ? null : req.headers['content-type'],
    authorization: req.headers.authorization === undefined ? null : req.headers.authorization,
    raw_body: null,
    grant_type: null,
    form: null,
    params: null,
    client_auth_method: null,
    client_id: null,
    client_secret: null,
    status: null,
    error: null,
  });
}

async function handleRealmEndpoint(req, res, record) {
  const realmName = record.realm;
  const body = await readBody(req);
  record.raw_body = body === null ? null : body.toString('utf8');
  res.on('finish', () => { record.status = res.statusCode; });

  const realm = state.realms.get(realmName);
  if (!realm) {
    record.error = 'Realm does not exist';
    return sendJson(res, 404, { error: 'Realm does not exist' });
  }
  if (realm.canned) return answerCanned(req, res, realm.canned, record);
  if (realm.delayMs > 0) await delay(realm.delayMs);

  if (body === null) {
    record.error = '(body too large)';
    return sendJson(res, 413, { error: 'Request Entity Too Large' });
  }
  if (req.method !== 'POST') {
    // NOTE: the JSON bodies of the 405 and 415 responses are this server's
    // own, and Keycloak's depend on its version.
    record.error = '(method not allowed)';
    return sendJson(res, 405, { error: 'HTTP 405 Method Not Allowed' }, { Allow: 'POST, OPTIONS' });
  }
  if (!isFormContentType(req.headers['content-type'])) {
    record.error = '(unsupported media type)';
    return sendJson(res, 415, { error: 'HTTP 415 Unsupported Media Type' });
  }

  let request;
  try {
    request = decodeRealmRequest(req, realm, body, record);
  } catch (error) {
    if (!(error instanceof MalformedEscapeError)) throw error;
    // Java's URLDecoder throws on a bad escape and Keycloak turns that
    // into a 500.
    record.decode_error = error.message;
    sendKeycloakError(res, new KeycloakError(500, 'unknown_error', undefined), record, {});
    record.error = 'unknown_error (malformed percent escape)';
    return undefined;
  }
  if (record.endpoint === 'token') return handleToken(req, res, realm, request);
  if (record.endpoint === 'logout') return handleLogout(res, realm, request);
  return handleRevoke(res, realm, request);
}

async function handleTestApi(req, res, pathname, query) {
  if (!isLoopback(req.socket.remoteAddress)) {
    return sendJson(res, 403, { error: 'the test API answers loopback clients only' });
  }
  if (pathname === '/_test/health' && req.method === 'GET') {
    return sendJson(res, 200, { status: 'ok', realms: [...state.realms.keys()] });
  }
  if (pathname === '/_test/requests' && req.method === 'GET') {
    return sendJson(res, 200, state.requests);
  }
  if (pathname === '/_test/reset' && req.method === 'POST') {
    await readBody(req);
    state.requests = [];
    state.store.clear();
    if (query.get('fixture') === '1') state.realms = loadFixture(state.fixtureFile);
    return sendEmpty(res, 204);
  }
  const realmMatch = TEST_REALM_PATH.exec(pathname);
  if (realmMatch && (req.method === 'PUT' || req.method === 'DELETE')) {
    const body = await readBody(req);
    let realmName;
    try {
      realmName = decodeURIComponent(realmMatch[1]);
    } catch (error) {
      return sendJson(res, 400, { error: `invalid realm name: ${error.message}` });
    }
    if (req.method === 'DELETE') {
      const existed = state.realms.delete(realmName);
      return sendEmpty(res, existed ? 204 : 404);
    }
    if (body === null) {
      return sendJson(res, 413, { error: `realm definition larger than ${MAX_BODY_BYTES} bytes` });
    }
    try {
      state.realms.set(realmName, normalizeRealm(realmName, JSON.parse(body.toString('utf8'))));
    } catch (error) {
      if (!(error instanceof SyntaxError) && !(error instanceof RealmDefinitionError)) throw error;
      return sendJson(res, 400, { error: error.message });
    }
    return sendEmpty(res, 204);
  }
  return sendJson(res, 404, { error: `no test API at ${req.method} ${pathname}` });
}

function logRequest(req, res, pathname, started, record) {
  const parts = [`${req.method} ${pathname}`];
  if (record) {
    if (record.grant_type) parts.push(`grant_type=${record.grant_type}`);
    if (record.client_id !== null) parts.push(`client_id=${JSON.stringify(record.client_id)}`);
    if (record.client_auth_method) parts.push(`auth=${record.client_auth_method}`);
    if (record.form && record.form.username !== undefined) {
      parts.push(`username=${JSON.stringify(record.form.username)}`);
    }
  }
  const status = res.writableFinished ? res.statusCode : 'no answer';
  parts.push(`-> ${status}`);
  if (record && record.error) parts.push(record.error);
  parts.push(`(${Date.now() - started} ms)`);
  log(parts.join(' '));
}

async function handleRequest(req, res) {
  const started = Date.now();
  const url = new URL(req.url, 'https://127.0.0.1');
  const pathname = url.pathname;
  let record = null;
  res.on('error', () => {});
  res.on('close', () => logRequest(req, res, pathname, started, record));

  if (pathname.startsWith('/_test/')) return handleTestApi(req, res, pathname, url.searchParams);

  const match = REALM_ENDPOINT.exec(pathname);
  let realmName = null;
  if (match) {
    try {
      realmName = decodeURIComponent(match[1]);
    } catch {
      realmName = null;
    }
  }
  if (realmName === null) {
    await readBody(req);
    return sendJson(res, 404, { error: 'Unable to find matching target resource method' });
  }
  record = createRecord(req, realmName, match[2], pathname);
  return handleRealmEndpoint(req, res, record);
}

function writePortFile(file, port) {
  const temporary = `${file}.tmp.${process.pid}`;
  fs.writeFileSync(temporary, `${port}\n`);
  fs.renameSync(temporary, file);
}

function main() {
  const options = parseArguments(process.argv.slice(2));
  state.fixtureFile = options.fixture;
  state.realms = loadFixture(options.fixture);

  let tls;
  try {
    tls = { cert: fs.readFileSync(options.cert), key: fs.readFileSync(options.key) };
  } catch (error) {
    usage(`cannot read certificate or key: ${error.message}`);
  }

  const sockets = new Set();
  const server = https.createServer(tls, (req, res) => {
    handleRequest(req, res).catch((error) => {
      log(`internal error on ${req.method} ${req.url}: ${error.stack || error}`);
      sendJson(res, 500, { error: 'unknown_error' });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (error) => log(`TLS handshake failed: ${error.message}`));
  server.on('error', (error) => {
    log(`server error: ${error.message}`);
    process.exit(1);
  });

  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    writePortFile(options.portFile, port);
    log(`listening on https://127.0.0.1:${port} (pid ${process.pid}, realms: ${[...state.realms.keys()].join(', ')})`);
  });

  const shutdown = (signal) => {
    log(`${signal} received, stopping`);
    server.close(() => process.exit(0));
    for (const socket of sockets) socket.destroy();
    setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main();
