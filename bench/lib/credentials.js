'use strict';
// Fake AWS keys shared by the benchmark's backend and upstream; they sign nothing real.
module.exports = {
  BENCH_CREDENTIALS: {
    accessKeyId: 'AKIDBENCHPROXYSIGV4EX',
    secretAccessKey: 'bench-secret-access-key-not-a-real-aws-key',
  },
  BENCH_TOKEN: 'bench-static-token-0123456789abcdef',
};
