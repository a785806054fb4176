import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { classByChar, classById, classMapCsv, K49_CLASSES, NUM_CLASSES } from '../../pipeline/core/classes';
import { OFFICIAL_DIR } from '../helpers/paths';

describe('class map', () => {
  const official = readFileSync(path.join(OFFICIAL_DIR, 'k49_classmap.csv'), 'utf8');

  it('has the 49 classes of the official k49_classmap.csv, row by row', () => {
    const rows = official
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    assert.equal(NUM_CLASSES, 49);
    assert.equal(rows.length, 49);
    rows.forEach(([index, codepoint, char], i) => {
      const c = K49_CLASSES[i]!;
      assert.deepEqual([String(c.index), c.codepoint, c.char], [index, codepoint, char]);
      assert.equal(c.char.codePointAt(0), parseInt(codepoint!.slice(2), 16));
    });
  });

  it('writes the official CSV byte for byte', () => {
    assert.equal(classMapCsv(), official);
  });

  it('looks classes up by id and by character, and rejects bad ids', () => {
    assert.equal(classById(0).char, 'あ');
    assert.equal(classById(48).char, 'ゝ');
    assert.equal(classByChar('ゑ')?.index, 45);
    assert.equal(classByChar('A'), undefined);
    assert.throws(() => classById(49), /out of range/);
    assert.throws(() => classById(-1), /out of range/);
  });
});
