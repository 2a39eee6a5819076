#!/usr/bin/env node
'use strict';

// A misbehaving HTTPS token endpoint for flowcred's fault tests: responses
// that arrive one byte at a time, gzip-encoded, cut off mid-body, far
// larger than announced, or never; and TLS listeners whose certificates a
// client must reject. It needs nothing but Node's standard library and
// binds 127.0.0.1 only.
//
// Usage: node fault-server.js --certs DIR --port-file FILE --body-dir DIR
//
// DIR is what tests/harness/make-certs.sh creates. Once every listener is
// up, FILE receives one JSON object (through a temporary file and a
// rename) with the port of each listener:
//   main        server.pem, trusted through ca.pem: the modes below
//   other_ca    other-ca.pem, a self-signed CA the client does not trust
//   wrong_host  wrong-host.pem, valid only for wrong.example
//   expired     expired.pem, valid only on 2020-01-01
//
// On the main listener, the query string of any path selects the response:
//   mode    plain (default), gzip, bomb, trickle, truncate, chunked-cut,
//           headers-cut, stream, close-early
//   status  HTTP status (default 200)
//   type    Content-Type; absent means no Content-Type header
//   body    name of a file in the --body-dir directory that holds the
//           body (default: an empty body)
//   every   trickle: milliseconds between two bytes (default 5)
//   cut     truncate and chunked-cut: bytes sent before the connection
//           is destroyed (default half the body)
//   size    bomb and stream: bytes of zeros produced (default 4 MiB)
//
// The modes:
//   plain        the body with Content-Length
//   gzip         the body gzip-compressed, Content-Encoding: gzip
//   bomb         gzip of `size` zero bytes: a few KiB on the wire
//   trickle      Content-Length, then one byte of the body every `every` ms
//   truncate     Content-Length of the whole body, `cut` bytes, then reset
//   chunked-cut  chunked encoding, `cut` bytes, then reset
//   headers-cut  half a status line, then reset
//   stream       chunked encoding, `size` bytes, no Content-Length
//   close-early  resets the connection as soon as the request headers
//                arrive, while the client may still send its body
//
// Every listener logs one line per connection or request to stderr. The
// server exits on SIGTERM or SIGINT.

const fs = require('fs');
const https = require('https');
const path = require('path');
const zlib = require('zlib');

const HOST = '127.0.0.1';
const DEFAULT_EVERY_MS = 5;
const DEFAULT_BOMB_SIZE = 4 * 1024 * 1024;
const STREAM_CHUNK = 16 * 1024;

function log(message) {
  process.stderr.write(`fault-server: ${message}\n`);
}

function parseArguments(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === '--certs') options.certs = value;
    else if (name === '--port-file') options.portFile = value;
    else if (name === '--body-dir') options.bodyDir = value;
    else throw new Error(`unknown option ${name}`);
  }
  if (!options.certs || !options.portFile || !options.bodyDir) {
    throw new Error('usage: fault-server.js --certs DIR --port-file FILE --body-dir DIR');
  }
  return options;
}

function integer(params, name, fallback) {
  const text = params.get(name);
  if (text === null) return fallback;
  const value = Number.parseInt(text, 10);
  if (!Number.isFinite(value) || value < 0) throw new Error(`invalid ${name} '${text}'`);
  return value;
}

function baseHeaders(params, length) {
  const headers = {};
  const type = params.get('type');
  if (type !== null) headers['Content-Type'] = type;
  if (length !== null) headers['Content-Length'] = String(length);
  return headers;
}

// Sends bytes one at a time until all are sent or the client left.
function trickle(res, body, everyMs) {
  let offset = 0;
  const timer = setInterval(() => {
    if (res.destroyed || res.socket === null || res.socket.destroyed) {
      clearInterval(timer);
      return;
    }
    if (offset >= body.length) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(body.subarray(offset, offset + 1));
    offset += 1;
  }, everyMs);
}

// Sends `size` zero bytes in chunks, respecting back-pressure, and stops
// when the client goes away.
function stream(res, size) {
  const chunk = Buffer.alloc(STREAM_CHUNK);
  let left = size;
  const pump = () => {
    while (left > 0) {
      if (res.destroyed) return;
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(chunk.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

// Reads the body file a request names; only plain names inside the
// body directory are accepted.
function readBody(bodyDir, params) {
  const name = params.get('body');
  if (name === null) return Buffer.alloc(0);
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) {
    throw new Error(`invalid body file name '${name}'`);
  }
  return fs.readFileSync(path.join(bodyDir, name));
}

function answer(req, res, params, bodyDir) {
  const mode = params.get('mode') || 'plain';
  const status = integer(params, 'status', 200);
  const body = readBody(bodyDir, params);
  const cut = integer(params, 'cut', Math.floor(body.length / 2));

  switch (mode) {
    case 'plain':
      res.writeHead(status, baseHeaders(params, body.length));
      res.end(body);
      return;
    case 'gzip': {
      const compressed = zlib.gzipSync(body);
      const headers = baseHeaders(params, compressed.length);
      headers['Content-Encoding'] = 'gzip';
      res.writeHead(status, headers);
      res.end(compressed);
      return;
    }
    case 'bomb': {
      const compressed = zlib.gzipSync(Buffer.alloc(integer(params, 'size', DEFAULT_BOMB_SIZE)));
      const headers = baseHeaders(params, compressed.length);
      headers['Content-Encoding'] = 'gzip';
      res.writeHead(status, headers);
      res.end(compressed);
      return;
    }
    case 'trickle':
      res.writeHead(status, baseHeaders(params, body.length));
      res.flushHeaders();
      trickle(res, body, integer(params, 'every', DEFAULT_EVERY_MS));
      return;
    case 'truncate':
      res.writeHead(status, baseHeaders(params, body.length));
      res.write(body.subarray(0, cut), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    case 'chunked-cut':
      res.writeHead(status, baseHeaders(params, null));
      res.write(body.subarray(0, cut), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    case 'headers-cut':
      req.socket.write('HTTP/1.1 20', () => setTimeout(() => req.socket.destroy(), 50));
      return;
    case 'stream':
      res.writeHead(status, baseHeaders(params, null));
      stream(res, integer(params, 'size', DEFAULT_BOMB_SIZE));
      return;
    default:
      throw new Error(`unknown mode '${mode}'`);
  }
}

function handle(bodyDir, req, res) {
  const url = new URL(req.url, `https://${HOST}`);
  const mode = url.searchParams.get('mode') || 'plain';
  log(`${req.method} ${url.pathname} mode=${mode}`);
  res.on('error', () => {});
  // close-early must not wait for the body. The other modes read all of
  // it first, so the client is not cut off while it is still sending.
  if (mode === 'close-early') {
    req.socket.destroy();
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    try {
      answer(req, res, url.searchParams, bodyDir);
    } catch (error) {
      log(`bad request ${req.url}: ${error.message}`);
      if (!res.headersSent) {
        res.writeHead(400, { 'Content-Type': 'text/plain' });
        res.end(`fault-server: ${error.message}\n`);
      }
    }
  });
}

function listen(name, options, certName, sockets) {
  const server = https.createServer({
    cert: fs.readFileSync(path.join(options.certs, `${certName}.pem`)),
    key: fs.readFileSync(path.join(options.certs, `${certName}.key`)),
  }, (req, res) => handle(options.bodyDir, req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (error) => log(`${name}: TLS handshake failed: ${error.message}`));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(server));
  });
}

async function main() {
  let options;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    log(error.message);
    process.exit(2);
  }
  const sockets = new Set();
  const listeners = {
    main: 'server',
    other_ca: 'other-ca',
    wrong_host: 'wrong-host',
    expired: 'expired',
  };
  const servers = {};
  const ports = {};
  for (const [name, certName] of Object.entries(listeners)) {
    servers[name] = await listen(name, options, certName, sockets);
    ports[name] = servers[name].address().port;
  }
  const temporary = `${options.portFile}.tmp.${process.pid}`;
  fs.writeFileSync(temporary, `${JSON.stringify(ports)}\n`);
  fs.renameSync(temporary, options.portFile);
  log(`listening on ${HOST}: ${JSON.stringify(ports)} (pid ${process.pid})`);

  const shutdown = (signal) => {
    log(`${signal} received, stopping`);
    for (const server of Object.values(servers)) server.close();
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error) => {
  log(`cannot start: ${error.stack || error}`);
  process.exit(1);
});
