/**
 * A user's evaluation of the committed default model reproduces its record
 * (confidences to their last digit) without touching it, and nothing the
 * project commits holds an absolute path of the machine it was made on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LATEST, REPORTS_DIR } from '../pipeline/core/paths';
import { readEvalRecord } from '../pipeline/core/records';
import type { PredictionRecord } from '../pipeline/evaluate/evaluate';
import { ROOT } from './helpers/paths';

const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });

describe('records that reproduce and travel', function () {
  this.timeout(300000);

  it("`make evaluate` of the bundled model, on its own data set or another, leaves every tracked file as it was and /health's record unchanged; its reports go to reports/", () => {
    const status = () => git('status', '--porcelain', '--untracked-files=no').stdout;
    const before = status();
    const version = path.basename(realpathSync(LATEST));
    const ownRecord = readFileSync(path.join(LATEST, 'metrics.json'), 'utf8');
    const served = () => JSON.stringify(readEvalRecord(LATEST));
    const health = served();
    for (const data of ['real-sample', 'kmnist-real']) {
      const r = spawnSync('make', ['-s', 'evaluate', `DATA=../shared/data/${data}`, 'MODEL=artifacts/latest'], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`reports in reports/${version}/${data}:`));
      assert.match(r.stdout, /the artifact's own record is unchanged \(RECORD=1/);
      assert.equal(status(), before, `make evaluate DATA=${data} changed tracked files`);
      assert.equal(served(), health, `the record /health and the UI state changed after DATA=${data}`);
    }
    // The same evaluation as the committed record, to the byte: the reports reproduce it.
    assert.equal(readFileSync(path.join(REPORTS_DIR, version, 'real-sample', 'metrics.json'), 'utf8'), ownRecord);
    const committed = JSON.parse(git('show', `HEAD:artifacts/${version}/predictions.json`).stdout) as PredictionRecord[];
    const rewritten = JSON.parse(readFileSync(path.join(REPORTS_DIR, version, 'real-sample', 'predictions.json'), 'utf8')) as PredictionRecord[];
    assert.equal(rewritten.length, committed.length);
    // CPUs' kernels differ in a float's last bits, which can move a confidence's 4th decimal; every class must match exactly.
    rewritten.forEach((p, i) => {
      const c = committed[i]!;
      assert.deepEqual([p.index, p.true_class, p.predicted_class], [c.index, c.true_class, c.predicted_class], `#${i}`);
      assert.ok(Math.abs(p.confidence - c.confidence) <= 2e-4, `#${i}: confidence ${p.confidence} against ${c.confidence}`);
    });
  });

  it('no tracked file holds an absolute path of this machine (the checkout, the folder above it, the home folder)', () => {
    const places = [ROOT, path.dirname(ROOT), os.homedir()].filter((p) => p.length > 1).map((p) => p.replace(/\/?$/, '/'));
    for (const place of places) {
      const r = git('grep', '-n', '-F', '-I', place);
      assert.equal(r.stdout, '', `tracked files naming ${place}:\n${r.stdout.slice(0, 2000)}`);
    }
  });
});
