import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type * as TF from '@tensorflow/tfjs-node';
import { loadTf } from '../../pipeline/core/backend';
import { ROOT } from '../helpers/paths';

describe('TensorFlow backend', () => {
  it("runs on native TensorFlow ('tensorflow' backend), not the pure-JS one", () => {
    const { tf, name } = loadTf('auto');
    assert.equal(tf.getBackend(), 'tensorflow');
    assert.match(name, /^tensorflow/);
    const y = tf.tidy(
      () =>
        tf
          .conv2d(tf.ones([1, 28, 28, 1]) as TF.Tensor4D, tf.ones([3, 3, 1, 2]) as TF.Tensor4D, 1, 'valid')
          .sum()
          .dataSync()[0],
    );
    assert.equal(y, 26 * 26 * 9 * 2);
  });

  it('rejects an unknown backend choice', () => {
    assert.throws(() => loadTf('quantum' as never), /K49_BACKEND must be/);
  });
});

describe('inference profiles', function () {
  this.timeout(60000);
  /** Runs `code` in a fresh Node process (TensorFlow reads its settings once per process) and returns its JSON output. */
  function inFreshProcess(code: string): Record<string, unknown> {
    const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, TF_ENABLE_ONEDNN_OPTS: '', TF_NUM_INTRAOP_THREADS: '' },
    });
    return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  }

  it("'latency' sets TensorFlow's kernels and one intra-op thread before TensorFlow loads; a later change of profile is refused", () => {
    const r = inFreshProcess(`
      const b = require('./pipeline/core/backend');
      b.useInferenceProfile('latency');
      b.loadTf();
      let refused = null;
      try { b.useInferenceProfile('throughput'); } catch (e) { refused = e.message; }
      console.log(JSON.stringify({ onednn: process.env.TF_ENABLE_ONEDNN_OPTS, intra: process.env.TF_NUM_INTRAOP_THREADS, profile: b.inferenceProfile(), refused }));
    `);
    assert.deepEqual([r.onednn, r.intra, r.profile], ['0', '1', 'latency']);
    assert.match(String(r.refused), /must be chosen before TensorFlow loads/);
  });

  it("'throughput' leaves TensorFlow's defaults", () => {
    const r = inFreshProcess(`
      const b = require('./pipeline/core/backend');
      b.useInferenceProfile('throughput');
      b.loadTf();
      console.log(JSON.stringify({ onednn: process.env.TF_ENABLE_ONEDNN_OPTS, intra: process.env.TF_NUM_INTRAOP_THREADS, profile: b.inferenceProfile() }));
    `);
    assert.deepEqual([r.onednn, r.intra, r.profile], ['', '', 'throughput']);
  });
});
