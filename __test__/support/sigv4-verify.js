'use strict';
// Verifies an AWS SigV4 `Authorization` header on a request exactly as received, by re-signing it
// with @smithy/signature-v4 (the AWS SDK for JS signer) - independent of our Rust signer.

const crypto = require('node:crypto');
const { SignatureV4, getCanonicalHeaders, getPayloadHash } = require('@smithy/signature-v4');
const { HttpRequest } = require('@smithy/protocol-http');
const { Sha256 } = require('@aws-crypto/sha256-js');
const { parseAuthorization, parseAmzDate, splitRawUrl, parseRawQuery, joinedHeader, rawHeaderValues } = require('./sigv4-parse');

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
  if (authorization === undefined) return { valid: false, reason: 'no authorization header' };
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
  const headers = {};
  for (const name of auth.signedHeaders) {
    const received = rawHeaderValues(rawHeaders, name);
    if (received === undefined) return fail(`signed header ${name} is missing`);
    // Decoded before trimming: trim() on the latin1 text would cut a trailing 0xA0 byte (NBSP).
    const texts = received.map(wireText);
    if (texts.includes(undefined)) return fail(`signed header ${name} is not UTF-8`);
    const value = texts.map((t) => t.trim()).join(',');
    // smithy sets x-amz-date and x-amz-security-token itself from signingDate / credentials.
    if (name !== 'x-amz-date' && name !== 'x-amz-security-token') headers[name] = value;
  }
  const contentSha = headers['x-amz-content-sha256'];
  if (contentSha && /^[0-9a-f]{64}$/.test(contentSha) && contentSha !== sha256Hex(body)) {
    return fail('x-amz-content-sha256 does not match body');
  }

  const { path, query: rawQuery } = splitRawUrl(url);
  let query;
  try {
    query = parseRawQuery(rawQuery);
  } catch {
    return fail('query has an undecodable percent escape');
  }
  // The *raw* path goes in: with uriEscapePath smithy escapes it once more, which is SigV4's
  // double encoding for non-S3 services ('/a%20b' -> '/a%2520b'), as aws-sigv4, botocore and
  // aws4 compute it. S3 signs the path as sent (single encoding, no normalisation).
  const request = new HttpRequest({ method, protocol: 'http:', hostname: 'verifier.invalid', path, query, headers, body });
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey, ...(sessionToken !== undefined && { sessionToken }) },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    applyChecksum: false,
    uriEscapePath: auth.service !== 's3',
  });
  const signableHeaders = signed; // sign exactly the client's list, even user-agent & co.
  const resigned = await signer.sign(request, { signingDate, signableHeaders });
  const expected = parseAuthorization(resigned.headers.authorization);
  if (expected.signedHeaders.join(';') !== auth.signedHeaders.join(';')) {
    return fail(`signed headers not verifiable as listed (expected ${expected.signedHeaders.join(';')})`);
  }
  if (!timingSafeEqualHex(expected.signature, auth.signature)) {
    return fail('signature mismatch', { canonicalRequest: await canonicalRequestOf(signer, resigned, signableHeaders) });
  }
  return { valid: true, ...info };
}

/** Recomputes the canonical request smithy signed, for the mismatch report. */
async function canonicalRequestOf(signer, resigned, signableHeaders) {
  const req = HttpRequest.clone(resigned);
  delete req.headers.authorization;
  const canonicalHeaders = getCanonicalHeaders(req, undefined, signableHeaders);
  return signer.createCanonicalRequest(req, canonicalHeaders, await getPayloadHash(req, Sha256));
}

/**
 * The text signed for a header value as Node received it: Node gives header bytes as latin1
 * strings (one character per byte), and the SDKs sign text as its UTF-8 bytes (moto, and S3
 * going by the StringToSign it returns, read the bytes as latin1 instead). Undefined for bytes
 * that are not UTF-8.
 */
function wireText(latin1) {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(latin1, 'latin1'));
  } catch {
    return undefined;
  }
}

function sha256Hex(buf) {
  return crypto.createHash('sha256').update(buf || Buffer.alloc(0)).digest('hex');
}

function timingSafeEqualHex(a, b) {
  return a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

module.exports = { verifySigV4, sha256Hex, MAX_SKEW_MS };
