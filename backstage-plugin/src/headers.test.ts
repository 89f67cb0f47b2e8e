// The flat header pairs of the addon become express headers: repeated names become arrays.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { groupHeaders } from './router';

describe('groupHeaders', () => {
  it('groups repeated names (any case) in order and keeps single ones', () => {
    const grouped = groupHeaders(['Vary', 'accept', 'ETag', '"1"', 'vary', 'origin', 'X-A', '']);
    assert.deepEqual([...grouped], [
      ['vary', ['accept', 'origin']],
      ['etag', ['"1"']],
      ['x-a', ['']],
    ]);
  });

  it('ignores a dangling name without a value', () => {
    assert.deepEqual([...groupHeaders(['a', '1', 'b'])], [['a', ['1']]]);
  });
});
