/** Weight averaging (pipeline/train/ema.ts): the average follows the TensorFlow EMA rule and leaves the trained weights alone. */
import assert from 'node:assert/strict';
import { loadTf } from '../../pipeline/core/backend';
import { WeightAverage } from '../../pipeline/train/ema';

describe('weight averaging', () => {
  it('averages with decay min(d, (1+step)/(10+step)), swaps the average in only inside withAveraged', async () => {
    const { tf } = loadTf();
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1], useBias: false, kernelInitializer: 'zeros' })] });
    const set = (v: number) => model.setWeights([tf.tensor2d([[v]])]);
    const read = () => (model.getWeights()[0]!.dataSync() as Float32Array)[0]!;
    const avg = new WeightAverage(tf, model, 0.9);
    set(10);
    avg.update(0); // decay min(0.9, 1/10) = 0.1: 0.1 * 0 + 0.9 * 10
    set(20);
    avg.update(100); // decay 0.9: 0.9 * 9 + 0.1 * 20
    const expected = 0.9 * 9 + 0.1 * 20;
    const inside = await avg.withAveraged(() => read());
    assert.ok(Math.abs(inside - expected) < 1e-5, `${inside} vs ${expected}`);
    assert.equal(read(), 20, 'the trained weights are back afterwards');
  });
});
