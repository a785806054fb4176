import assert from 'node:assert/strict';
import type * as TF from '@tensorflow/tfjs-node';
import { inferenceSessionOptions, loadTf, useInferenceProfile } from '../../pipeline/core/backend';

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

describe('inference profiles', () => {
  afterEach(() => useInferenceProfile('throughput'));

  it("'latency' runs a model call on one thread, 'throughput' on ONNX Runtime's default (every core)", () => {
    useInferenceProfile('latency');
    assert.equal(inferenceSessionOptions().intraOpNumThreads, 1);
    useInferenceProfile('throughput');
    assert.equal(inferenceSessionOptions().intraOpNumThreads, 0);
  });
});
