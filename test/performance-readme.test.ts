/** The README's Performance section is exactly what the last `make bench` (and `make soak`) measured. */
import assert from 'node:assert/strict';
import { currentBlock, expectedBlock } from '../bench/report';

describe('README Performance section', () => {
  it('matches bench/results.json and bench/soak.json (rewritten by make bench / make soak)', () => {
    const current = currentBlock();
    assert.ok(current, 'README.md has the bench markers');
    assert.equal(current, expectedBlock(), 'README.md is out of date: run `make bench`');
  });
});
