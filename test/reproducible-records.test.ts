/**
 * The README's evaluation command on the committed default model rewrites
 * its reports byte for byte (confidences to their last digit), and nothing the project
 * commits holds an absolute path of the machine it was made on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PredictionRecord } from '../pipeline/evaluate/evaluate';
import { ROOT } from './helpers/paths';

const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });

describe('records that reproduce and travel', function () {
  this.timeout(300000);

  it('`make evaluate DATA=../shared/data/real-sample MODEL=artifacts/latest` rewrites the committed reports: the same bytes, confidences to their last digit', () => {
    const changed = () =>
      git('status', '--porcelain', '--', 'artifacts/')
        .stdout.split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3));
    assert.deepEqual(changed(), [], 'the artifacts are unchanged before the run (commit or restore them first)');
    const r = spawnSync('make', ['-s', 'evaluate', 'DATA=../shared/data/real-sample', 'MODEL=artifacts/latest'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /balanced accuracy/);
    // CPUs' kernels differ in a float's last bits, which can move a confidence's 4th decimal; every class and figure must match exactly.
    const mayDiffer = ['predictions.json', 'misclassified.png'];
    const diffs = changed();
    assert.deepEqual(
      diffs.filter((f) => !mayDiffer.includes(path.basename(f))),
      [],
      `make evaluate changed committed files:\n${diffs.join('\n')}`,
    );
    for (const file of diffs.filter((f) => path.basename(f) === 'predictions.json')) {
      const committed = JSON.parse(git('show', `HEAD:${file}`).stdout) as PredictionRecord[];
      const rewritten = JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as PredictionRecord[];
      assert.equal(rewritten.length, committed.length);
      rewritten.forEach((p, i) => {
        const c = committed[i]!;
        assert.deepEqual([p.index, p.true_class, p.predicted_class], [c.index, c.true_class, c.predicted_class], `${file} #${i}`);
        assert.ok(Math.abs(p.confidence - c.confidence) <= 2e-4, `${file} #${i}: confidence ${p.confidence} against ${c.confidence}`);
      });
    }
    if (diffs.length > 0) git('checkout', '--', ...diffs);
  });

  it('no tracked file holds an absolute path of this machine (the checkout, the folder above it, the home folder)', () => {
    const places = [ROOT, path.dirname(ROOT), os.homedir()].filter((p) => p.length > 1).map((p) => p.replace(/\/?$/, '/'));
    for (const place of places) {
      const r = git('grep', '-n', '-F', '-I', place);
      assert.equal(r.stdout, '', `tracked files naming ${place}:\n${r.stdout.slice(0, 2000)}`);
    }
  });
});
