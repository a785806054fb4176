/**
 * The README's evaluation command on the committed default model rewrites
 * its reports byte for byte (git sees no change), and nothing the project
 * commits holds an absolute path of the machine it was made on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './helpers/paths';

const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });

describe('records that reproduce and travel', function () {
  this.timeout(300000);

  it('`make evaluate DATA=../shared/data/real-sample MODEL=artifacts/latest` leaves the committed artifact unchanged', () => {
    const status = () => git('status', '--porcelain', '--', 'artifacts/').stdout;
    assert.equal(status(), '', 'the artifacts are unchanged before the run (commit or restore them first)');
    const r = spawnSync('make', ['-s', 'evaluate', 'DATA=../shared/data/real-sample', 'MODEL=artifacts/latest'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /balanced accuracy/);
    assert.equal(status(), '', `make evaluate changed committed files:\n${git('diff', '--stat', '--', 'artifacts/').stdout}`);
  });

  it('no tracked file holds an absolute path of this machine (the checkout, the folder above it, the home folder)', () => {
    const places = [ROOT, path.dirname(ROOT), os.homedir()].filter((p) => p.length > 1).map((p) => p.replace(/\/?$/, '/'));
    for (const place of places) {
      const r = git('grep', '-n', '-F', '-I', place);
      assert.equal(r.stdout, '', `tracked files naming ${place}:\n${r.stdout.slice(0, 2000)}`);
    }
  });
});
