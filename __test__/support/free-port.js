'use strict';
// A free loopback TCP port: listen on port 0, note what the kernel picked, close.
// (A small race with other processes remains; fine for tests on one machine.)

const net = require('node:net');

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

module.exports = { freePort };
