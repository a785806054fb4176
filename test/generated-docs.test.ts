/**
 * Every figure the README and docs/ take from a results file is what that file says now (bench/report.ts writes
 * them); and the README stays a user's manual, its details in docs/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { GENERATED_BLOCKS, renderModelFigures, staleBlocks } from '../bench/report';
import { LATEST, README } from '../pipeline/core/paths';
import { readEvalRecord } from '../pipeline/core/records';

describe('generated figures in the README and docs/', () => {
  it('match the results files they come from (else: run `make docs`)', () => {
    assert.ok(GENERATED_BLOCKS.length >= 3);
    assert.deepEqual(staleBlocks(), [], 'out of date: run `make docs` (or `make bench` after measuring)');
  });

  it("the README's model table states the bundled model's own evaluation record, figure by figure", () => {
    const m = readEvalRecord(LATEST)!;
    const table = renderModelFigures();
    for (const figure of [m.accuracy, m.balanced_accuracy, m.groups!.real_training_images.mean_recall!, m.groups!.no_real_training_images.mean_recall!])
      assert.ok(table.includes(figure.toFixed(3)), `${figure.toFixed(3)} in ${table}`);
    assert.ok(readFileSync(README, 'utf8').includes(table));
  });

  it('a hand edit of a generated figure is caught', () => {
    const block = GENERATED_BLOCKS[0]!;
    const original = readFileSync(block.file, 'utf8');
    assert.ok(original.includes(block.render()));
    const edited = original.replace(block.render(), block.render().replace(/\d\.\d{3}/, '0.999'));
    assert.notEqual(edited, original);
    assert.ok(staleBlocks((file) => (file === block.file ? edited : readFileSync(file, 'utf8'))).some((s) => s.endsWith(`: ${block.name}`)));
  });

  it('the README stays a manual of at most 320 lines: what a feature does in detail goes to docs/', () => {
    const lines = readFileSync(README, 'utf8').trimEnd().split('\n').length;
    assert.ok(lines <= 320, `README.md has ${lines} lines: move detail to docs/ and link it`);
  });
});
