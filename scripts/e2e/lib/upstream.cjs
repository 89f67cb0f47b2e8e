'use strict';
// Starts the repo's verifying upstream (__test__/support/verifying-upstream.js, copied next to
// this run) on 127.0.0.1, random port, strict: a request whose SigV4 signature does not verify
// against the key below gets 403; others get a JSON echo with `signatureValid`.
//   node upstream.cjs SUPPORT_DIR PORT_FILE RECORD_LOG
// Keys: E2E_AWS_ACCESS_KEY_ID / E2E_AWS_SECRET_ACCESS_KEY (the same the backend signs with).
// Every request the upstream receives is appended to RECORD_LOG as one JSON line (its own
// record: method, raw url, signature verdict), so run.sh can check what reached it.
// Writes PORT_FILE once listening; stops on SIGTERM/SIGINT.
const fs = require('node:fs');
const path = require('node:path');

const [supportDir, portFile, recordLog] = process.argv.slice(2);
if (!supportDir || !portFile || !recordLog) {
  console.error('usage: node upstream.cjs SUPPORT_DIR PORT_FILE RECORD_LOG');
  process.exit(2);
}
const { startVerifyingUpstream } = require(path.resolve(supportDir, 'verifying-upstream.js'));

async function main() {
  const keys = new Map([[process.env.E2E_AWS_ACCESS_KEY_ID, process.env.E2E_AWS_SECRET_ACCESS_KEY]]);
  const upstream = await startVerifyingUpstream({ keys, strict: true });
  const push = upstream.requests.push;
  upstream.requests.push = function (...records) {
    for (const r of records) {
      const line = {
        method: r.method,
        url: r.url,
        signatureValid: r.signature.valid,
        reason: r.signature.reason,
        accessKeyId: r.signature.accessKeyId,
        service: r.signature.service,
        region: r.signature.region,
        signedHeaders: r.signature.signedHeaders,
      };
      fs.appendFileSync(recordLog, JSON.stringify(line) + '\n');
    }
    return push.apply(this, records);
  };
  fs.writeFileSync(portFile + '.partial', String(upstream.port));
  fs.renameSync(portFile + '.partial', portFile);
  console.log(`verifying upstream on ${upstream.url} (strict)`);
  const stop = () => upstream.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
