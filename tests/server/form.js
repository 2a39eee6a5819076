'use strict';

// Form and Basic-credential decoding as Keycloak does it, down to the byte.

/** Thrown for a `%` that is not followed by two hex digits, which Keycloak rejects with HTTP 500. */
class MalformedEscapeError extends Error {
  constructor(text) {
    super(`malformed percent escape in ${JSON.stringify(text)}`);
    this.name = 'MalformedEscapeError';
  }
}

function hexValue(code) {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/**
 * Decodes one application/x-www-form-urlencoded component: '+' becomes a
 * space, %XX becomes that byte, and the resulting bytes are read as UTF-8.
 * Invalid UTF-8 sequences become U+FFFD, as in Java's decoder.
 */
function decodeComponent(bytes) {
  const out = Buffer.alloc(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 0x2b) {
      out[length++] = 0x20;
    } else if (byte === 0x25) {
      const high = i + 1 < bytes.length ? hexValue(bytes[i + 1]) : -1;
      const low = i + 2 < bytes.length ? hexValue(bytes[i + 2]) : -1;
      if (high < 0 || low < 0) {
        throw new MalformedEscapeError(bytes.toString('latin1'));
      }
      out[length++] = high * 16 + low;
      i += 2;
    } else {
      out[length++] = byte;
    }
  }
  return out.subarray(0, length).toString('utf8');
}

/**
 * Parses a form body into ordered [name, value] pairs. Empty segments are
 * skipped and a segment without '=' is a name with an empty value.
 */
function parseForm(body) {
  const pairs = [];
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x26, start);
    if (end < 0) end = body.length;
    const segment = body.subarray(start, end);
    if (segment.length > 0) {
      const equals = segment.indexOf(0x3d);
      if (equals < 0) {
        pairs.push([decodeComponent(segment), '']);
      } else {
        pairs.push([
          decodeComponent(segment.subarray(0, equals)),
          decodeComponent(segment.subarray(equals + 1)),
        ]);
      }
    }
    start = end + 1;
  }
  return pairs;
}

/** Returns the first value of each name, the value Keycloak's getFirst() returns. */
function firstValues(pairs) {
  const fields = Object.create(null);
  for (const [name, value] of pairs) {
    if (!(name in fields)) fields[name] = value;
  }
  return fields;
}

/** Returns the names that occur more than once. */
function duplicatedNames(pairs) {
  const seen = new Set();
  const duplicated = new Set();
  for (const [name] of pairs) {
    if (seen.has(name)) duplicated.add(name);
    seen.add(name);
  }
  return [...duplicated];
}

/**
 * Parses an Authorization header as Basic client credentials.
 *
 * Returns null when the header is not usable Basic credentials (not Basic,
 * or no ':' after Base64 decoding), as Keycloak's BasicAuthHelper does.
 * With `formDecode`, as in Keycloak since its change to RFC 6749 section
 * 2.3.1, each part is then form-decoded and a bad escape throws
 * MalformedEscapeError. Without it, as in older Keycloak, the parts are
 * used as they are.
 */
function parseBasicCredentials(header, formDecode) {
  if (typeof header !== 'string' || header.length < 6) return null;
  if (header.substring(0, 5).toLowerCase() !== 'basic') return null;
  // Buffer's Base64 decoder skips characters outside the alphabet, like
  // the MIME decoder Keycloak uses.
  const decoded = Buffer.from(header.substring(6), 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return null;
  const id = decoded.subarray(0, colon);
  const secret = decoded.subarray(colon + 1);
  if (!formDecode) {
    return { clientId: id.toString('utf8'), clientSecret: secret.toString('utf8') };
  }
  return { clientId: decodeComponent(id), clientSecret: decodeComponent(secret) };
}

module.exports = {
  MalformedEscapeError,
  decodeComponent,
  parseForm,
  firstValues,
  duplicatedNames,
  parseBasicCredentials,
};
