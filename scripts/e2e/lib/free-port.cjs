'use strict';
// Prints a TCP port free on 127.0.0.1 right now (the OS picks it).
const s = require('node:net').createServer();
s.listen(0, '127.0.0.1', () => {
  const { port } = s.address();
  s.close(() => process.stdout.write(`${port}\n`));
});
