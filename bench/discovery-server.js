#!/usr/bin/env node
// OpenID Connect discovery for the benchmark's oidc-agent account.
//
// The test token server (tests/server) implements the token, logout and
// revocation endpoints but no discovery document, and oidc-gen needs one
// at ISSUER/.well-known/openid-configuration. This HTTPS server on
// 127.0.0.1 serves only that document, for the issuer
// https://127.0.0.1:PORT/auth/realms/REALM; its endpoints point at the
// token server. It proxies nothing.
//
// Usage: node discovery-server.js --cert PEM --key KEY --port-file FILE
//            --token-server https://127.0.0.1:PORT [--realm test]
//
// It writes its port to FILE once it listens and exits on SIGTERM or
// SIGINT.
'use strict';

const fs = require('fs');
const https = require('https');

function parseArguments(argv) {
  const options = { realm: 'test' };
  const names = {
    '--cert': 'cert', '--key': 'key', '--port-file': 'portFile',
    '--token-server': 'tokenServer', '--realm': 'realm',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]];
    if (name === undefined || i + 1 >= argv.length) {
      throw new Error(`invalid argument '${argv[i]}'`);
    }
    options[name] = argv[i + 1];
  }
  for (const required of ['cert', 'key', 'portFile', 'tokenServer']) {
    if (options[required] === undefined) throw new Error(`missing --${required}`);
  }
  return options;
}

function discoveryDocument(issuer, tokenServer, realm) {
  const oidc = `${tokenServer}/auth/realms/${realm}/protocol/openid-connect`;
  return {
    issuer,
    authorization_endpoint: `${issuer}/protocol/openid-connect/auth`,
    token_endpoint: `${oidc}/token`,
    end_session_endpoint: `${oidc}/logout`,
    revocation_endpoint: `${oidc}/revoke`,
    userinfo_endpoint: `${issuer}/protocol/openid-connect/userinfo`,
    jwks_uri: `${issuer}/protocol/openid-connect/certs`,
    grant_types_supported: ['password', 'refresh_token'],
    response_types_supported: ['code'],
    scopes_supported: ['openid', 'microprofile-jwt', 'offline_access'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
}

function main() {
  const options = parseArguments(process.argv.slice(2));
  const server = https.createServer({
    cert: fs.readFileSync(options.cert),
    key: fs.readFileSync(options.key),
  });
  let body = null;
  let wellKnown = null;

  server.on('request', (req, res) => {
    const path = new URL(req.url, 'https://127.0.0.1').pathname;
    if (req.method === 'GET' && path === wellKnown) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(body);
    } else {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: `no ${req.method} ${path} here` }));
    }
    process.stderr.write(`discovery-server: ${req.method} ${path} -> ${res.statusCode}\n`);
  });
  server.listen(0, '127.0.0.1', () => {
    const port = server.address().port;
    const issuer = `https://127.0.0.1:${port}/auth/realms/${options.realm}`;
    wellKnown = `/auth/realms/${options.realm}/.well-known/openid-configuration`;
    body = JSON.stringify(discoveryDocument(issuer, options.tokenServer, options.realm));
    fs.writeFileSync(`${options.portFile}.tmp`, `${port}\n`);
    fs.renameSync(`${options.portFile}.tmp`, options.portFile);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
