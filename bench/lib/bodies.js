'use strict';
// The small JSON body the fast upstream and the floor subject both answer with (~100 bytes).
const SMALL_BODY = Buffer.from(
  `${JSON.stringify({ id: 42, name: 'bench item', tags: ['a', 'b', 'c'], ok: true, note: 'x'.repeat(32) })}\n`,
);
module.exports = { SMALL_BODY };
