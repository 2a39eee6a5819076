'use strict';

// The model that @node-oauth/oauth2-server calls for the password and
// refresh_token grants, with Keycloak's checks, in Keycloak's order and with
// Keycloak's error responses. They follow the Keycloak sources of
// TokenEndpoint, ClientIdAndSecretAuthenticator, ValidateUsername,
// ResourceOwnerPasswordCredentialsGrantType and TokenManager; older
// Keycloak releases differ in places (see the realm's "statusCodes").

const crypto = require('crypto');
const {
  OAuthError,
  InvalidRequestError,
  InvalidGrantError,
  InvalidScopeError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
} = require('@node-oauth/oauth2-server');
const { findUser, findClient } = require('./realm');

const CLIENT_CREDENTIALS_INVALID = 'Invalid client or Invalid client credentials';
const USER_CREDENTIALS_INVALID = 'Invalid user credentials';

/** An error response with Keycloak's HTTP status, error code and description. */
class KeycloakError extends OAuthError {
  constructor(status, error, description) {
    super(description, { code: status, name: error });
    this.error = error;
    this.description = description;
  }
}

/**
 * Reversible text encoding for values handed through the library.
 *
 * The library checks client credentials, usernames and passwords against
 * the RFC 6749 appendix A character sets and for presence before it calls
 * the model, while Keycloak accepts any UTF-8 and checks in another order.
 * Hex with a one-letter tag keeps every value non-empty printable ASCII, so
 * the checks happen in the model, with Keycloak's error responses. '-'
 * marks an absent field.
 */
const transport = {
  encode(value) {
    return value === undefined ? '-' : `x${Buffer.from(value, 'utf8').toString('hex')}`;
  },
  decode(value) {
    if (typeof value !== 'string' || value === '-' || value[0] !== 'x') return undefined;
    return Buffer.from(value.substring(1), 'hex').toString('utf8');
  },
};

function base64url(value) {
  return Buffer.from(value).toString('base64url');
}

/**
 * Builds a token that looks like a Keycloak JWT: three base64url parts with
 * real claims, and a random signature that nothing verifies.
 */
function makeJwt(claims) {
  const header = { alg: 'RS256', typ: 'JWT', kid: 'flowcred-test' };
  return [
    base64url(JSON.stringify(header)),
    base64url(JSON.stringify(claims)),
    crypto.randomBytes(64).toString('base64url'),
  ].join('.');
}

/** Splits a scope parameter as Java's String.split(" ") does. */
function splitScope(scope) {
  const parts = scope.split(' ');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function isOidcRequest(scope) {
  return typeof scope === 'string' && splitScope(scope).includes('openid');
}

/** Sessions, refresh tokens and access tokens issued since the last reset. */
class SessionStore {
  constructor() {
    this.clear();
  }

  clear() {
    this.sessions = new Map();
    this.refreshTokens = new Map();
    this.accessTokens = new Map();
  }

  createSession(id, realm, clientId, username, requestedScope, grantedScope, offline) {
    const now = Date.now();
    const session = {
      id,
      realm: realm.name,
      clientId,
      username,
      requestedScope,
      grantedScope,
      offline,
      started: now,
      lastRefresh: now,
      ended: false,
      clientDetached: false,
      nextSeq: 0,
      lastUsedSeq: -1,
      useCount: 0,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** Returns whether Keycloak would still treat the session as valid. */
  isSessionActive(session, realm) {
    if (!session || session.ended) return false;
    const now = Date.now();
    if (session.offline) {
      return now <= session.lastRefresh + realm.offlineSessionIdleTimeout * 1000;
    }
    return now <= session.lastRefresh + realm.refreshTokenLifespan * 1000 &&
      now <= session.started + realm.ssoSessionMaxLifespan * 1000;
  }

  endSession(session) {
    if (session) session.ended = true;
  }

  /** Ends every session of one user and client, as token revocation does. */
  endSessionsOf(realmName, clientId, username) {
    for (const session of this.sessions.values()) {
      if (session.realm === realmName && session.clientId === clientId &&
          session.username.toLowerCase() === username.toLowerCase()) {
        session.ended = true;
      }
    }
  }
}

/** Seconds until the refresh token of an online session expires. */
function refreshExpiresIn(session, realm) {
  if (session.offline) return 0;
  const now = Date.now();
  const idleEnd = now + realm.refreshTokenLifespan * 1000;
  const maxEnd = session.started + realm.ssoSessionMaxLifespan * 1000;
  return Math.max(0, Math.floor((Math.min(idleEnd, maxEnd) - now) / 1000));
}

/**
 * Authenticates the client of a request as ClientIdAndSecretAuthenticator
 * does. `credentials` contains the decoded client_id and client_secret, each
 * undefined when absent. Returns the client definition or throws.
 */
function authenticateClient(realm, credentials) {
  if (credentials.clientId === undefined) {
    throw new KeycloakError(400, 'invalid_client', 'Missing client_id parameter');
  }
  const client = findClient(realm, credentials.clientId);
  if (!client || !client.enabled) {
    throw new KeycloakError(401, 'invalid_client', CLIENT_CREDENTIALS_INVALID);
  }
  if (client.publicClient) return client;
  if (credentials.clientSecret === undefined || client.secret === undefined ||
      credentials.clientSecret !== client.secret) {
    throw new KeycloakError(401, 'unauthorized_client', CLIENT_CREDENTIALS_INVALID);
  }
  return client;
}

/** Rejects a scope parameter naming a scope the client lacks (openid is always allowed). */
function checkRequestedScope(client, scope) {
  if (scope === undefined) return;
  const requested = new Set(splitScope(scope));
  requested.delete('openid');
  if (requested.size === 0) return;
  const allowed = new Set([...client.scopes, ...client.defaultScopes]);
  for (const name of requested) {
    if (!allowed.has(name)) {
      throw new KeycloakError(400, 'invalid_scope', `Invalid scopes: ${scope}`);
    }
  }
}

/** Returns the scopes Keycloak grants: the requested ones, then the client's defaults. */
function grantScopes(client, scope) {
  const granted = [];
  for (const name of scope === undefined ? [] : splitScope(scope)) {
    if (name !== '' && !granted.includes(name)) granted.push(name);
  }
  for (const name of client.defaultScopes) {
    if (!granted.includes(name)) granted.push(name);
  }
  return granted;
}

/**
 * Creates the model for one token request. `context` carries what the
 * library does not pass to the model: the realm, the store, the issuer URL,
 * the raw scope and otp parameters and the duplicated form names.
 */
function createModel(context) {
  const { realm, store } = context;

  function lifespanClaims(seconds) {
    const now = Math.floor(Date.now() / 1000);
    return { exp: now + seconds, iat: now };
  }

  function tokenClaims(type, user, scope, seconds) {
    return {
      ...lifespanClaims(seconds),
      jti: crypto.randomUUID(),
      iss: context.issuer,
      aud: type === 'Bearer' ? 'account' : context.issuer,
      sub: crypto.createHash('sha256').update(`${realm.name}/${user.username}`).digest('hex').substring(0, 32),
      typ: type,
      azp: context.client.clientId,
      sid: context.sessionId,
      session_state: context.sessionId,
      scope: scope.join(' '),
      preferred_username: user.username.toLowerCase(),
    };
  }

  function ensureSessionId() {
    if (!context.sessionId) context.sessionId = crypto.randomUUID();
    return context.sessionId;
  }

  return {
    async getClient(encodedClientId, encodedClientSecret) {
      const client = authenticateClient(realm, {
        clientId: transport.decode(encodedClientId),
        clientSecret: transport.decode(encodedClientSecret),
      });
      if (context.duplicatedNames.length > 0) {
        throw new KeycloakError(400, 'invalid_request', 'duplicated parameter');
      }
      context.client = client;
      const grants = client.directAccessGrants ? ['password', 'refresh_token'] : ['refresh_token'];
      return { id: client.clientId, grants };
    },

    async getUser(encodedUsername, encodedPassword) {
      // Keycloak validates the scope parameter before it runs the direct
      // grant flow, and the library would only call validateScope() after
      // getUser(), so the check happens here first.
      checkRequestedScope(context.client, context.scope);

      const username = transport.decode(encodedUsername);
      if (username === undefined) {
        throw new KeycloakError(401, 'invalid_request', 'Missing parameter: username');
      }
      const unknownStatus = realm.statusCodes === 'old' ? 401 : 400;
      const user = findUser(realm, username);
      if (!user) {
        throw new KeycloakError(unknownStatus, 'invalid_grant', USER_CREDENTIALS_INVALID);
      }
      if (user.bruteForceLocked) {
        throw new KeycloakError(unknownStatus, 'invalid_grant', USER_CREDENTIALS_INVALID);
      }
      if (!user.enabled) {
        throw new KeycloakError(400, 'invalid_grant', 'Account disabled');
      }
      const password = transport.decode(encodedPassword);
      if (password === undefined || password === '' || password !== user.password) {
        throw new KeycloakError(401, 'invalid_grant', USER_CREDENTIALS_INVALID);
      }
      if (user.otp !== undefined && context.otp !== user.otp) {
        throw new KeycloakError(401, 'invalid_grant', USER_CREDENTIALS_INVALID);
      }
      if (user.requiredActions) {
        throw new KeycloakError(400, 'invalid_grant', 'Account is not fully set up');
      }
      return { username: user.username };
    },

    async validateScope(user, client) {
      return grantScopes(context.client, context.scope);
    },

    async generateAccessToken(client, user, scope) {
      ensureSessionId();
      return makeJwt(tokenClaims('Bearer', user, scope || [], realm.accessTokenLifespan));
    },

    async generateRefreshToken(client, user, scope) {
      ensureSessionId();
      const offline = context.session ? context.session.offline : (scope || []).includes('offline_access');
      const seconds = offline ? realm.offlineSessionIdleTimeout : realm.refreshTokenLifespan;
      return makeJwt(tokenClaims(offline ? 'Offline' : 'Refresh', user, scope || [], seconds));
    },

    async saveToken(token, client, user) {
      let session = context.session;
      let scope = token.scope || [];
      if (!session) {
        const offline = scope.includes('offline_access');
        // The library generated the tokens first, under the session id
        // that ensureSessionId() chose, so the session takes that id.
        session = store.createSession(ensureSessionId(), realm, context.client.clientId,
          user.username, context.scope, scope, offline);
      } else if (context.scope !== undefined && context.scope !== '') {
        // Keycloak narrows a refresh to the scopes that are also in the
        // scope parameter and silently drops the others.
        const narrowed = new Set(splitScope(context.scope));
        scope = scope.filter((name) => narrowed.has(name));
      }
      session.lastRefresh = Date.now();
      const refreshLifetime = session.offline ? realm.offlineSessionIdleTimeout : realm.refreshTokenLifespan;
      store.refreshTokens.set(token.refreshToken, {
        sessionId: session.id,
        realm: realm.name,
        clientId: context.client.clientId,
        seq: session.nextSeq++,
        expiresAt: Date.now() + refreshLifetime * 1000,
      });
      store.accessTokens.set(token.accessToken, {
        sessionId: session.id,
        realm: realm.name,
        clientId: context.client.clientId,
        expiresAt: Date.now() + realm.accessTokenLifespan * 1000,
        revoked: false,
      });
      context.session = session;
      context.grantedScope = scope;
      return { ...token, scope, client, user };
    },

    async getRefreshToken(encodedRefreshToken) {
      const refreshToken = transport.decode(encodedRefreshToken);
      const record = store.refreshTokens.get(refreshToken);
      if (!record || record.realm !== realm.name) {
        throw new KeycloakError(400, 'invalid_grant', 'Invalid refresh token');
      }

      // The token checks of TokenManager.verifyRefreshToken().
      if (Date.now() > record.expiresAt) {
        throw new KeycloakError(400, 'invalid_grant', 'Token is not active');
      }
      if (record.clientId !== context.client.clientId) {
        throw new KeycloakError(400, 'invalid_grant',
          "Invalid refresh token. Token client and authorized client don't match");
      }

      // The session checks of TokenManager.validateToken().
      const session = store.sessions.get(record.sessionId);
      if (!store.isSessionActive(session, realm)) {
        store.endSession(session);
        throw new KeycloakError(400, 'invalid_grant', 'Session not active');
      }
      const user = findUser(realm, session.username);
      if (!user) {
        throw new KeycloakError(400, 'invalid_grant', 'Invalid refresh token');
      }
      if (!user.enabled) {
        throw new KeycloakError(400, 'invalid_grant', 'User disabled');
      }
      if (session.clientDetached) {
        throw new KeycloakError(400, 'invalid_grant', "Session doesn't have required client");
      }
      if (realm.revokeRefreshToken) {
        checkRefreshTokenReuse(session, record, realm);
      }

      context.session = session;
      context.sessionId = session.id;
      return {
        refreshToken,
        refreshTokenExpiresAt: new Date(record.expiresAt),
        scope: session.grantedScope,
        client: { id: record.clientId },
        user: { username: session.username },
      };
    },

    async revokeToken() {
      // Rotation is tracked by sequence number in getRefreshToken(), so an
      // old token stays known and a reuse is distinguished from a forgery.
      return true;
    },
  };
}

/**
 * Applies Keycloak's refresh token rotation: a token older than the last
 * one used is stale, and the last one used may be used again only
 * refreshTokenMaxReuse times. Either refusal detaches the client from the
 * session, so its newest refresh token stops working as well.
 *
 * NOTE: Keycloak compares issue times in whole seconds, so it lets a stale
 * token through within the second of the refresh that replaced it. This
 * server always rejects it.
 */
function checkRefreshTokenReuse(session, record, realm) {
  if (record.seq < session.lastUsedSeq) {
    session.clientDetached = true;
    throw new KeycloakError(400, 'invalid_grant', 'Stale token');
  }
  if (record.seq !== session.lastUsedSeq) {
    session.lastUsedSeq = record.seq;
    session.useCount = 0;
  }
  if (session.useCount > realm.refreshTokenMaxReuse) {
    session.clientDetached = true;
    throw new KeycloakError(400, 'invalid_grant', 'Maximum allowed refresh token reuse exceeded');
  }
  session.useCount += 1;
}

/**
 * Translates an error the library raised itself (not one of the model's
 * KeycloakErrors) into Keycloak's error response for the same situation.
 */
function mapLibraryError(error, grantType, form) {
  if (error instanceof KeycloakError) return error;
  if (error instanceof UnauthorizedClientError) {
    if (grantType === 'password') {
      return new KeycloakError(400, 'unauthorized_client', 'Client not allowed for direct access grants');
    }
    if (grantType === 'client_credentials') {
      return new KeycloakError(400, 'unauthorized_client', 'Client not enabled to retrieve service account');
    }
    if (grantType === 'authorization_code') {
      // This server never issues codes, so any code is unknown to it.
      if (form.code === undefined) {
        return new KeycloakError(400, 'invalid_request', 'Missing parameter: code');
      }
      return new KeycloakError(400, 'invalid_grant', 'Code not valid');
    }
  }
  if (error instanceof UnsupportedGrantTypeError) {
    // NOTE: Keycloak supports the token exchange, UMA, device and CIBA
    // grants. This server does not, and rejects them as unsupported.
    return new KeycloakError(400, 'unsupported_grant_type', 'Unsupported grant_type');
  }
  if (error instanceof InvalidRequestError && grantType === 'refresh_token' && form.refresh_token === undefined) {
    return new KeycloakError(400, 'invalid_request', 'No refresh token');
  }
  if (error instanceof InvalidGrantError && grantType === 'refresh_token') {
    return new KeycloakError(400, 'invalid_grant', 'Invalid refresh token');
  }
  if (error instanceof InvalidScopeError) {
    return new KeycloakError(400, 'invalid_scope', `Invalid scopes: ${form.scope}`);
  }
  return new KeycloakError(500, 'unknown_error', undefined);
}

/** Builds Keycloak's success body from the token that saveToken() returned. */
function buildTokenResponse(context, saved) {
  const { realm, session } = context;
  const body = {
    access_token: saved.accessToken,
    expires_in: realm.accessTokenLifespan,
    refresh_expires_in: refreshExpiresIn(session, realm),
    refresh_token: saved.refreshToken,
    token_type: 'Bearer',
  };
  // Keycloak issues an ID token when the scope of the login contained openid.
  if (isOidcRequest(session.requestedScope)) {
    const now = Math.floor(Date.now() / 1000);
    body.id_token = makeJwt({
      exp: now + realm.accessTokenLifespan,
      iat: now,
      jti: crypto.randomUUID(),
      iss: context.issuer,
      aud: session.clientId,
      typ: 'ID',
      azp: session.clientId,
      sid: session.id,
      preferred_username: session.username.toLowerCase(),
    });
  }
  body['not-before-policy'] = 0;
  body.session_state = session.id;
  body.scope = context.grantedScope.join(' ');
  return body;
}

module.exports = {
  buildTokenResponse,
  KeycloakError,
  SessionStore,
  transport,
  authenticateClient,
  createModel,
  mapLibraryError,
  refreshExpiresIn,
  isOidcRequest,
  makeJwt,
};
