'use strict';

// Realm definitions: validation of fixture and run-time entries, with the
// defaults that make an entry behave like a freshly configured Keycloak
// realm as IFS Cloud sets it up.

const DEFAULT_SCOPES = ['openid', 'microprofile-jwt', 'offline_access'];

class RealmDefinitionError extends Error {
  constructor(realmName, message) {
    super(`realm ${JSON.stringify(realmName)}: ${message}`);
    this.name = 'RealmDefinitionError';
  }
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readBoolean(realmName, owner, field, fallback) {
  const value = owner[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new RealmDefinitionError(realmName, `"${field}" must be true or false`);
  }
  return value;
}

function readSeconds(realmName, owner, field, fallback) {
  const value = owner[field];
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new RealmDefinitionError(realmName, `"${field}" must be a whole number of seconds >= 1`);
  }
  return value;
}

function readDelay(realmName, owner) {
  const value = owner.delayMs;
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 0 || value > 600000) {
    throw new RealmDefinitionError(realmName, '"delayMs" must be a whole number from 0 to 600000');
  }
  return value;
}

function readStringList(realmName, owner, field, fallback) {
  const value = owner[field];
  if (value === undefined) return fallback.slice();
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new RealmDefinitionError(realmName, `"${field}" must be a list of non-empty strings`);
  }
  return value.slice();
}

function normalizeCanned(realmName, canned) {
  if (!isPlainObject(canned)) {
    throw new RealmDefinitionError(realmName, '"canned" must be an object');
  }
  const result = {
    hang: readBoolean(realmName, canned, 'hang', false),
    drop: readBoolean(realmName, canned, 'drop', false),
    delayMs: readDelay(realmName, canned),
    status: 200,
    headers: {},
    body: '',
  };
  if (result.hang || result.drop) return result;

  if (!Number.isInteger(canned.status) || canned.status < 100 || canned.status > 599) {
    throw new RealmDefinitionError(realmName, 'canned "status" must be an HTTP status code');
  }
  result.status = canned.status;
  if (canned.headers !== undefined) {
    if (!isPlainObject(canned.headers) ||
        !Object.values(canned.headers).every((value) => typeof value === 'string')) {
      throw new RealmDefinitionError(realmName, 'canned "headers" must map names to strings');
    }
    result.headers = { ...canned.headers };
  }
  if (canned.body !== undefined) {
    if (typeof canned.body !== 'string') {
      throw new RealmDefinitionError(realmName, 'canned "body" must be a string');
    }
    result.body = canned.body;
  }
  return result;
}

function normalizeClient(realmName, client) {
  if (!isPlainObject(client) || typeof client.clientId !== 'string' || client.clientId === '') {
    throw new RealmDefinitionError(realmName, 'each client needs a non-empty "clientId"');
  }
  const publicClient = readBoolean(realmName, client, 'publicClient', false);
  if (client.secret !== undefined && typeof client.secret !== 'string') {
    throw new RealmDefinitionError(realmName, `client ${client.clientId}: "secret" must be a string`);
  }
  if (!publicClient && client.secret === undefined) {
    throw new RealmDefinitionError(realmName,
      `client ${client.clientId}: a confidential client needs a "secret" (or set "publicClient")`);
  }
  return {
    clientId: client.clientId,
    secret: client.secret,
    publicClient,
    enabled: readBoolean(realmName, client, 'enabled', true),
    directAccessGrants: readBoolean(realmName, client, 'directAccessGrants', true),
    scopes: readStringList(realmName, client, 'scopes', DEFAULT_SCOPES),
    defaultScopes: readStringList(realmName, client, 'defaultScopes', []),
  };
}

function normalizeUser(realmName, user) {
  if (!isPlainObject(user) || typeof user.username !== 'string' || user.username === '') {
    throw new RealmDefinitionError(realmName, 'each user needs a non-empty "username"');
  }
  if (typeof user.password !== 'string') {
    throw new RealmDefinitionError(realmName, `user ${user.username}: "password" must be a string`);
  }
  if (user.otp !== undefined && (typeof user.otp !== 'string' || user.otp === '')) {
    throw new RealmDefinitionError(realmName, `user ${user.username}: "otp" must be a non-empty string`);
  }
  return {
    username: user.username,
    password: user.password,
    enabled: readBoolean(realmName, user, 'enabled', true),
    requiredActions: readBoolean(realmName, user, 'requiredActions', false),
    bruteForceLocked: readBoolean(realmName, user, 'bruteForceLocked', false),
    otp: user.otp,
  };
}

function readChoice(realmName, owner, field, choices) {
  const value = owner[field];
  if (value === undefined) return choices[0];
  if (!choices.includes(value)) {
    throw new RealmDefinitionError(realmName,
      `"${field}" must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`);
  }
  return value;
}

/**
 * Validates one realm entry and fills in defaults. Throws
 * RealmDefinitionError naming the realm and the field at fault.
 */
function normalizeRealm(realmName, definition) {
  if (!isPlainObject(definition)) {
    throw new RealmDefinitionError(realmName, 'definition must be a JSON object');
  }
  if (definition.canned !== undefined) {
    return { name: realmName, canned: normalizeCanned(realmName, definition.canned) };
  }
  if (definition.clients !== undefined && !Array.isArray(definition.clients)) {
    throw new RealmDefinitionError(realmName, '"clients" must be a list');
  }
  if (definition.users !== undefined && !Array.isArray(definition.users)) {
    throw new RealmDefinitionError(realmName, '"users" must be a list');
  }
  const clients = (definition.clients || []).map((c) => normalizeClient(realmName, c));
  const users = (definition.users || []).map((u) => normalizeUser(realmName, u));
  const refreshTokenMaxReuse = definition.refreshTokenMaxReuse === undefined ? 0 : definition.refreshTokenMaxReuse;
  if (!Number.isInteger(refreshTokenMaxReuse) || refreshTokenMaxReuse < 0) {
    throw new RealmDefinitionError(realmName, '"refreshTokenMaxReuse" must be a whole number >= 0');
  }
  return {
    name: realmName,
    canned: null,
    clients,
    users,
    accessTokenLifespan: readSeconds(realmName, definition, 'accessTokenLifespan', 180),
    refreshTokenLifespan: readSeconds(realmName, definition, 'refreshTokenLifespan', 1800),
    ssoSessionMaxLifespan: readSeconds(realmName, definition, 'ssoSessionMaxLifespan', 36000),
    offlineSessionIdleTimeout: readSeconds(realmName, definition, 'offlineSessionIdleTimeout', 2592000),
    statusCodes: readChoice(realmName, definition, 'statusCodes', ['new', 'old']),
    basicAuth: readChoice(realmName, definition, 'basicAuth', ['rfc6749', 'raw']),
    revokeRefreshToken: readBoolean(realmName, definition, 'revokeRefreshToken', true),
    refreshTokenMaxReuse,
    delayMs: readDelay(realmName, definition),
  };
}

/** Validates a whole fixture file: {"realms": {"name": definition, ...}}. */
function normalizeFixture(fixture) {
  if (!isPlainObject(fixture) || !isPlainObject(fixture.realms)) {
    throw new RealmDefinitionError('(fixture)', 'the fixture must be {"realms": {...}}');
  }
  const realms = new Map();
  for (const [name, definition] of Object.entries(fixture.realms)) {
    realms.set(name, normalizeRealm(name, definition));
  }
  return realms;
}

/**
 * Finds a user as Keycloak does: usernames are stored in lower case, so
 * the lookup ignores case.
 */
function findUser(realm, username) {
  const expected = username.toLowerCase();
  return realm.users.find((user) => user.username.toLowerCase() === expected);
}

function findClient(realm, clientId) {
  return realm.clients.find((client) => client.clientId === clientId);
}

module.exports = {
  RealmDefinitionError,
  normalizeRealm,
  normalizeFixture,
  findUser,
  findClient,
};
