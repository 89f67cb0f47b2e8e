'use strict';
// Pure parsing helpers for the SigV4 verifier: turn what arrived on the wire into the inputs
// @smithy/signature-v4 expects. No signing logic here, so a bug cannot hide in both places.

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;

/** Parses an `Authorization: AWS4-HMAC-SHA256 ...` value; returns null when malformed. */
function parseAuthorization(value) {
  const m = AUTH_RE.exec(value || '');
  if (!m) return null;
  return {
    accessKeyId: m[1],
    date: m[2],
    region: m[3],
    service: m[4],
    signedHeaders: m[5].split(';'),
    signature: m[6],
  };
}

const AUTH_V4A_RE =
  /^AWS4-ECDSA-P256-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]+)\s*$/;

/** Parses an `Authorization: AWS4-ECDSA-P256-SHA256 ...` (SigV4A) value; null when malformed. */
function parseAuthorizationV4a(value) {
  const m = AUTH_V4A_RE.exec(value || '');
  if (!m) return null;
  return { accessKeyId: m[1], date: m[2], service: m[3], signedHeaders: m[4].split(';'), signature: m[5] };
}

/** A presigned URL's `X-Amz-Credential` (`AKID/20150830/us-east-1/s3/aws4_request`), or null. */
function parseCredentialScope(value) {
  const m = /^([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(value || '');
  return m && { accessKeyId: m[1], date: m[2], region: m[3], service: m[4] };
}

/** `20150830T123600Z` -> Date, or null when not in the basic ISO 8601 form SigV4 uses. */
function parseAmzDate(value) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value || '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/** Splits a raw request target into the raw path and the raw query (without '?'). */
function splitRawUrl(rawUrl) {
  const q = rawUrl.indexOf('?');
  return q < 0 ? { path: rawUrl, query: '' } : { path: rawUrl.slice(0, q), query: rawUrl.slice(q + 1) };
}

/**
 * Raw query -> { key: value | value[] } with keys and values *decoded*, because smithy's
 * canonical query encodes them again. '+' decodes to a space (form-urlencoded rules, as
 * aws-sigv4's form_urlencoded::parse and aws4's querystring.parse do). Empty pieces are skipped.
 * Throws URIError on undecodable escapes (e.g. `%FF`).
 */
function parseRawQuery(rawQuery) {
  const out = Object.create(null); // a key like __proto__ must stay a plain key
  if (!rawQuery) return out;
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const rawKey = eq < 0 ? piece : piece.slice(0, eq);
    const rawValue = eq < 0 ? '' : piece.slice(eq + 1);
    const key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
    const value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    if (!(key in out)) out[key] = value;
    else if (Array.isArray(out[key])) out[key].push(value);
    else out[key] = [out[key], value];
  }
  return out;
}

/**
 * Values of one header from Node's rawHeaders (all occurrences, in order), or undefined.
 * SigV4 joins repeated headers with ',' - req.headers would drop or ', '-join them instead.
 */
function rawHeaderValues(rawHeaders, lowerName) {
  const values = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === lowerName) values.push(rawHeaders[i + 1]);
  }
  return values.length ? values : undefined;
}

/** Canonical-ready value: each occurrence trimmed, occurrences joined with ','. */
function joinedHeader(rawHeaders, lowerName) {
  const values = rawHeaderValues(rawHeaders, lowerName);
  return values && values.map((v) => v.trim()).join(',');
}

module.exports = { parseAuthorization, parseAuthorizationV4a, parseCredentialScope, parseAmzDate, splitRawUrl, parseRawQuery, rawHeaderValues, joinedHeader };
