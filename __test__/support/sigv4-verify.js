'use strict';
// Verifies an AWS SigV4 `Authorization` header on a request exactly as received, by re-signing it
// with @smithy/signature-v4 (the AWS SDK for JS signer) - independent of our Rust signer.

const crypto = require('node:crypto');
const { SignatureV4, getPayloadHash } = require('@smithy/signature-v4');
const { HttpRequest } = require('@smithy/protocol-http');
const { Sha256 } = require('@aws-crypto/sha256-js');
const { parseAuthorization, parseAuthorizationV4a, parseCredentialScope, parseAmzDate, splitRawUrl, parseRawQuery, joinedHeader, rawHeaderValues } = require('./sigv4-parse');

const MAX_SKEW_MS = 5 * 60 * 1000; // AWS rejects requests more than 5 minutes off

/**
 * @param {{ method: string, url: string, rawHeaders: string[], body: Buffer,
 *           keys: Map<string,string>, now?: number }} req  url is the raw request target
 * @returns {Promise<{ valid: boolean, reason?: string, accessKeyId?: string, service?: string,
 *   region?: string, signedHeaders?: string[], sessionToken?: string, canonicalRequest?: string }>}
 *   canonicalRequest (what a correct signer computes) is set on "signature mismatch" to debug.
 */
async function verifySigV4({ method, url, rawHeaders, body, keys, now = Date.now() }) {
  const authorization = joinedHeader(rawHeaders, 'authorization');
  if (authorization === undefined && /(^|&)X-Amz-Signature=/.test(splitRawUrl(url).query)) {
    return verifyPresigned({ method, url, rawHeaders, body, keys, now });
  }
  if (authorization === undefined) return { valid: false, reason: 'no authorization header' };
  if (authorization.startsWith('AWS4-ECDSA-P256-SHA256 ')) {
    return verifySigV4a({ method, url, rawHeaders, body, keys, now, authorization });
  }
  const auth = parseAuthorization(authorization);
  if (!auth) return { valid: false, reason: 'malformed authorization header' };

  const sessionToken = joinedHeader(rawHeaders, 'x-amz-security-token');
  const info = {
    accessKeyId: auth.accessKeyId,
    service: auth.service,
    region: auth.region,
    signedHeaders: auth.signedHeaders,
    ...(sessionToken !== undefined && { sessionToken }),
  };
  const fail = (reason, extra) => ({ valid: false, reason, ...info, ...extra });

  const secretAccessKey = keys.get(auth.accessKeyId);
  if (secretAccessKey === undefined) return fail(`unknown access key ${auth.accessKeyId}`);

  const amzDateValue = joinedHeader(rawHeaders, 'x-amz-date');
  if (amzDateValue === undefined) return fail('no x-amz-date header');
  const signingDate = parseAmzDate(amzDateValue);
  if (!signingDate) return fail(`malformed x-amz-date ${amzDateValue}`);
  if (Math.abs(now - signingDate.getTime()) > MAX_SKEW_MS) return fail('x-amz-date too far from now');
  if (amzDateValue.slice(0, 8) !== auth.date) return fail('credential scope date does not match x-amz-date');

  // Rules a real AWS endpoint enforces that a lenient re-sign would not notice.
  const signed = new Set(auth.signedHeaders);
  if (!signed.has('host')) return fail('host is not signed');
  if (!signed.has('x-amz-date')) return fail('x-amz-date is not signed');
  if (sessionToken !== undefined && !signed.has('x-amz-security-token')) {
    return fail('x-amz-security-token is not signed');
  }
  const headers = canonicalHeaders(rawHeaders, auth.signedHeaders);
  if (typeof headers === 'string') return fail(headers);
  const contentSha = headers['x-amz-content-sha256'];
  if (contentSha && /^[0-9a-f]{64}$/.test(contentSha) && contentSha !== sha256Hex(body)) {
    return fail('x-amz-content-sha256 does not match body');
  }

  const { path, query: rawQuery } = splitRawUrl(url);
  const query = decodedQuery(rawQuery);
  if (!query) return fail('query has an undecodable percent escape');
  const request = new HttpRequest({ method, protocol: 'http:', hostname: 'verifier.invalid', path, query, headers, body });
  const payloadHash = await getPayloadHash(request, Sha256);
  const { signature, canonicalRequest } = await expectedSignature(request, headers, payloadHash, auth, secretAccessKey, amzDateValue);
  if (!timingSafeEqualHex(signature, auth.signature)) return fail('signature mismatch', { canonicalRequest });
  return { valid: true, ...info };
}

/**
 * A presigned request (query authentication): the X-Amz-* parameters instead of an Authorization
 * header, valid from X-Amz-Date for X-Amz-Expires seconds; S3 signs UNSIGNED-PAYLOAD, as AWS's
 * S3 documentation for presigned URLs says, other services the body's hash.
 */
async function verifyPresigned({ method, url, rawHeaders, body, keys, now }) {
  const { path, query: rawQuery } = splitRawUrl(url);
  const query = decodedQuery(rawQuery);
  if (!query) return { valid: false, reason: 'query has an undecodable percent escape' };
  const param = (name) => (typeof query[name] === 'string' ? query[name] : undefined);
  const auth = parseCredentialScope(param('X-Amz-Credential'));
  if (param('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !auth) return { valid: false, reason: 'malformed presigned query' };
  auth.signedHeaders = (param('X-Amz-SignedHeaders') ?? '').split(';');
  auth.signature = param('X-Amz-Signature') ?? '';
  const sessionToken = param('X-Amz-Security-Token');
  const info = { accessKeyId: auth.accessKeyId, service: auth.service, region: auth.region, signedHeaders: auth.signedHeaders, presigned: true, ...(sessionToken !== undefined && { sessionToken }) };
  const fail = (reason, extra) => ({ valid: false, reason, ...info, ...extra });

  const secretAccessKey = keys.get(auth.accessKeyId);
  if (secretAccessKey === undefined) return fail(`unknown access key ${auth.accessKeyId}`);
  const amzDateValue = param('X-Amz-Date') ?? '';
  const signingDate = parseAmzDate(amzDateValue);
  if (!signingDate) return fail(`malformed X-Amz-Date ${amzDateValue}`);
  if (amzDateValue.slice(0, 8) !== auth.date) return fail('credential scope date does not match X-Amz-Date');
  const expires = Number(param('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) return fail('X-Amz-Expires is not 1 to 604800');
  if (now < signingDate.getTime() - MAX_SKEW_MS) return fail('X-Amz-Date is in the future');
  if (now > signingDate.getTime() + expires * 1000) return fail('the presigned URL has expired');
  if (!auth.signedHeaders.includes('host')) return fail('host is not signed');

  const headers = canonicalHeaders(rawHeaders, auth.signedHeaders);
  if (typeof headers === 'string') return fail(headers);
  delete query['X-Amz-Signature'];
  const request = new HttpRequest({ method, protocol: 'http:', hostname: 'verifier.invalid', path, query, headers, body });
  const payloadHash = auth.service === 's3' ? 'UNSIGNED-PAYLOAD' : sha256Hex(body);
  const { signature, canonicalRequest } = await expectedSignature(request, headers, payloadHash, auth, secretAccessKey, amzDateValue);
  if (!timingSafeEqualHex(signature, auth.signature)) return fail('signature mismatch', { canonicalRequest });
  return { valid: true, ...info };
}

/**
 * A SigV4A request: re-signed with @smithy/signature-v4a for the same time and region set. Its
 * ECDSA is deterministic (RFC 6979), as aws-sigv4's is, so a correct signature has the same r;
 * s may differ only in sign (smithy keeps the low s, (r, n - s) is the same signature).
 */
async function verifySigV4a({ method, url, rawHeaders, body, keys, now, authorization }) {
  const auth = parseAuthorizationV4a(authorization);
  if (!auth) return { valid: false, reason: 'malformed SigV4A authorization header' };
  const regionSet = joinedHeader(rawHeaders, 'x-amz-region-set');
  const sessionToken = joinedHeader(rawHeaders, 'x-amz-security-token');
  const info = { accessKeyId: auth.accessKeyId, service: auth.service, regionSet, signedHeaders: auth.signedHeaders, algorithm: 'sigv4a', ...(sessionToken !== undefined && { sessionToken }) };
  const fail = (reason) => ({ valid: false, reason, ...info });
  const secretAccessKey = keys.get(auth.accessKeyId);
  if (secretAccessKey === undefined) return fail(`unknown access key ${auth.accessKeyId}`);
  if (regionSet === undefined) return fail('no x-amz-region-set header');
  for (const name of ['host', 'x-amz-date', 'x-amz-region-set']) {
    if (!auth.signedHeaders.includes(name)) return fail(`${name} is not signed`);
  }
  const amzDateValue = joinedHeader(rawHeaders, 'x-amz-date') ?? '';
  const signingDate = parseAmzDate(amzDateValue);
  if (!signingDate) return fail(`malformed x-amz-date ${amzDateValue}`);
  if (Math.abs(now - signingDate.getTime()) > MAX_SKEW_MS) return fail('x-amz-date too far from now');
  const headers = canonicalHeaders(rawHeaders, auth.signedHeaders);
  if (typeof headers === 'string') return fail(headers);
  const { path, query: rawQuery } = splitRawUrl(url);
  const query = decodedQuery(rawQuery);
  if (!query) return fail('query has an undecodable percent escape');
  const { SignatureV4a } = require('@smithy/signature-v4a');
  const credentials = { accessKeyId: auth.accessKeyId, secretAccessKey, ...(sessionToken !== undefined && { sessionToken }) };
  const signer = new SignatureV4a({ credentials, region: regionSet, service: auth.service, sha256: Sha256, applyChecksum: false, uriEscapePath: auth.service !== 's3' });
  const request = new HttpRequest({ method, protocol: 'http:', hostname: 'verifier.invalid', path, query, headers, body });
  const resigned = await signer.sign(request, { signingDate, signableHeaders: new Set(auth.signedHeaders) });
  const expected = parseAuthorizationV4a(resigned.headers.authorization);
  if (!expected || expected.signedHeaders.join(';') !== auth.signedHeaders.join(';')) {
    return fail(`signed headers not verifiable as listed (expected ${expected?.signedHeaders.join(';')})`);
  }
  return sameEcdsaSignature(expected.signature, auth.signature) ? { valid: true, ...info } : fail('signature mismatch');
}

/** P-256's group order n: (r, s) and (r, n - s) verify alike. */
const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

function sameEcdsaSignature(derHexA, derHexB) {
  const a = decodeDerSignature(derHexA);
  const b = decodeDerSignature(derHexB);
  return a !== null && b !== null && a.r === b.r && (a.s === b.s || a.s === P256_ORDER - b.s);
}

/** A DER ECDSA signature (SEQUENCE of two INTEGERs) as { r, s }, or null when malformed. */
function decodeDerSignature(hex) {
  const der = Buffer.from(hex, 'hex');
  if (der[0] !== 0x30 || der[1] !== der.length - 2) return null;
  const integers = [];
  let at = 2;
  for (let i = 0; i < 2; i++) {
    if (der[at] !== 0x02) return null;
    const length = der[at + 1];
    integers.push(BigInt(`0x${der.subarray(at + 2, at + 2 + length).toString('hex') || '0'}`));
    at += 2 + length;
  }
  return at === der.length ? { r: integers[0], s: integers[1] } : null;
}

/**
 * Canonical headers as AWS forms them: each value's bytes read as Latin-1 (Node's strings are
 * that already), spaces (only spaces, as S3 trims) cut at the ends and runs of them made one.
 * smithy's own rule also folds U+00A0 and other \s characters, which AWS keeps. A string is the
 * reason the headers cannot be formed.
 */
function canonicalHeaders(rawHeaders, signedHeaders) {
  const headers = {};
  for (const name of signedHeaders) {
    const received = rawHeaderValues(rawHeaders, name);
    if (received === undefined) return `signed header ${name} is missing`;
    headers[name] = received.map(awsTrimAll).join(',');
  }
  return headers;
}

/**
 * smithy's canonical request, signing key and signature for `request`. The *raw* path goes in:
 * with uriEscapePath smithy escapes it once more, which is SigV4's double encoding for non-S3
 * services ('/a%20b' -> '/a%2520b'), as aws-sigv4, botocore and aws4 compute it. S3 signs the
 * path as sent (single encoding, no normalisation).
 */
async function expectedSignature(request, headers, payloadHash, auth, secretAccessKey, amzDate) {
  const credentials = { accessKeyId: auth.accessKeyId, secretAccessKey };
  const signer = new SignatureV4({ credentials, region: auth.region, service: auth.service, sha256: Sha256, applyChecksum: false, uriEscapePath: auth.service !== 's3' });
  const canonicalRequest = signer.createCanonicalRequest(request, headers, payloadHash);
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const key = signer.getSigningKey(credentials, auth.region, auth.date, auth.service);
  return { signature: await signer.getSignature(amzDate, scope, key, canonicalRequest), canonicalRequest };
}

/** The raw query decoded (see parseRawQuery), or undefined when an escape cannot be decoded. */
function decodedQuery(rawQuery) {
  try {
    return parseRawQuery(rawQuery);
  } catch {
    return undefined;
  }
}

/** SigV4's Trimall as S3 applies it: spaces at the ends cut, runs of spaces made one space. */
function awsTrimAll(value) {
  return value.replace(/^ +| +$/g, '').replace(/ {2,}/g, ' ');
}

function sha256Hex(buf) {
  return crypto.createHash('sha256').update(buf || Buffer.alloc(0)).digest('hex');
}

function timingSafeEqualHex(a, b) {
  return a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

module.exports = { verifySigV4, sha256Hex, MAX_SKEW_MS };
