'use strict';
// A private certificate authority made for one test run with the openssl CLI, and the server
// certificates it issues. Nothing is committed: keys and certificates live in a temporary
// directory that cleanup() removes.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/**
 * @param {string} [name] the CA's common name
 * @returns {{ dir: string, caFile: string, issue(subjectAltName: string): { key: Buffer, cert: Buffer },
 *   cleanup(): void }}
 *   caFile: the CA certificate as a PEM file. issue('IP:127.0.0.1') or issue('DNS:other.example')
 *   makes a server certificate (and key) for those names, signed by the CA.
 */
function makeTestCa(name = 'proxy-sigv4 test CA') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-sigv4-ca-'));
  const caKey = path.join(dir, 'ca.key');
  const caFile = path.join(dir, 'ca.pem');
  openssl([
    'req', '-x509', ...EC_KEY, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let issued = 0;
  return {
    dir,
    caFile,
    issue(subjectAltName) {
      issued++;
      const file = (ext) => path.join(dir, `server-${issued}.${ext}`);
      openssl(['req', ...EC_KEY, '-keyout', file('key'), '-out', file('csr'), '-subj', '/CN=proxy-sigv4 test server']);
      fs.writeFileSync(
        file('ext'),
        `subjectAltName=${subjectAltName}\nbasicConstraints=critical,CA:FALSE\n` +
          'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
      );
      openssl([
        'x509', '-req', '-in', file('csr'), '-CA', caFile, '-CAkey', caKey, '-set_serial', String(1000 + issued),
        '-days', '2', '-extfile', file('ext'), '-out', file('pem'),
      ]);
      return { key: fs.readFileSync(file('key')), cert: fs.readFileSync(file('pem')) };
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { makeTestCa };
