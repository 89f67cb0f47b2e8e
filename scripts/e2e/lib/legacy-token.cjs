'use strict';
// Prints a legacy Backstage service token: an HS256 JWT with sub "backstage-server" and an exp,
// signed with a secret from backend.auth.externalAccess (type legacy) / backend.auth.keys,
// exactly what backend-common's ServerTokenManager issues and verifies.
//   node legacy-token.cjs BASE64URL_SECRET
const crypto = require('node:crypto');
const secret = process.argv[2];
if (!secret) {
  console.error('usage: node legacy-token.cjs BASE64URL_SECRET');
  process.exit(2);
}
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const input = `${b64({ alg: 'HS256' })}.${b64({ sub: 'backstage-server', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
const sig = crypto.createHmac('sha256', Buffer.from(secret, 'base64url')).update(input).digest('base64url');
process.stdout.write(`${input}.${sig}\n`);
