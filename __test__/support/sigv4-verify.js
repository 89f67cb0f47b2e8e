'use strict';
// Verifies an AWS SigV4 `Authorization` header on a request exactly as received, by re-signing it
// with @smithy/signature-v4 (the AWS SDK for JS signer) - independent of our Rust signer.

const crypto = require('node:crypto');
const { SignatureV4, getPayloadHash } = require('@smithy/signature-v4');
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
  // Canonical headers as AWS forms them: each value's bytes read as Latin-1 (Node's strings are
  // that already), spaces (only spaces, as S3 trims) cut at the ends and runs of them made one.
  // smithy's own rule also folds U+00A0 and other \s characters, which AWS keeps.
  const headers = {};
  for (const name of auth.signedHeaders) {
    const received = rawHeaderValues(rawHeaders, name);
    if (received === undefined) return fail(`signed header ${name} is missing`);
    headers[name] = received.map(awsTrimAll).join(',');
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
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
    region: auth.region,
    service: auth.service,
    sha256: Sha256,
    applyChecksum: false,
    uriEscapePath: auth.service !== 's3',
  });
  const canonicalRequest = signer.createCanonicalRequest(request, headers, await getPayloadHash(request, Sha256));
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const key = signer.getSigningKey({ accessKeyId: auth.accessKeyId, secretAccessKey }, auth.region, auth.date, auth.service);
  const expected = await signer.getSignature(amzDateValue, scope, key, canonicalRequest);
  if (!timingSafeEqualHex(expected, auth.signature)) return fail('signature mismatch', { canonicalRequest });
  return { valid: true, ...info };
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
