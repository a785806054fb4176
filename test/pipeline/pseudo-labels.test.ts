/**
 * Pseudo-labels of real page crops (pipeline/data/pseudo-labels.ts): the shifted views, the class-balanced
 * choice, batch-norm statistics adapted layer by layer, and the committed set (only leak-checked crops).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadTf } from '../../pipeline/core/backend';
import { classByChar, NUM_CLASSES } from '../../pipeline/core/classes';
import { loadSplit, PIXELS, shiftImages } from '../../pipeline/core/dataset';
import { PAGE_CROPS_DIR, PSEUDO_LABELS_DIR } from '../../pipeline/core/paths';
import { toModelInput } from '../../pipeline/core/preprocess/fit';
import { adaptBatchNorm, choosePseudoLabels, makePseudoLabels, PSEUDO_LABEL_RULE } from '../../pipeline/data/pseudo-labels';
import { PSEUDO_LABELS_RECORD } from '../../pipeline/data/sources';
import { tempDir } from '../helpers/paths';

/** Views of n crops: every crop's class and confidence, the same class in every view unless told. */
function views(classes: number[], confidences: number[], disagree: number[] = []) {
  const first = { classes: Int32Array.from(classes), confidences: Float32Array.from(confidences) };
  const other = { classes: Int32Array.from(classes, (c, i) => (disagree.includes(i) ? (c + 1) % NUM_CLASSES : c)), confidences: first.confidences };
  return [first, other, first];
}

describe('pseudo-labels of real page crops', function () {
  this.timeout(120000);

  it('shifts an image by a pixel, the uncovered border black', () => {
    const image = new Uint8Array(PIXELS);
    image[0] = 9;
    image[5 * 28 + 7] = 200;
    image[27 * 28 + 27] = 50;
    const down = shiftImages(image, 1, 1);
    assert.equal(down[6 * 28 + 8], 200);
    assert.equal(down[1 * 28 + 1], 9);
    assert.equal(down[0], 0, 'the new top-left is black');
    assert.equal(
      down.reduce((a, v) => a + v, 0),
      209,
      'the bottom-right pixel moved out',
    );
    assert.equal(shiftImages(image, -1, -1)[4 * 28 + 6], 200);
  });

  it('keeps per class the more confident half of the crops its views agree on, at least 20 and at most 150, none of ゝ', () => {
    const classes: number[] = [];
    const confidences: number[] = [];
    const add = (c: number, n: number, conf: (i: number) => number) => {
      for (let i = 0; i < n; i++) {
        classes.push(c);
        confidences.push(conf(i));
      }
    };
    add(0, 100, (i) => 0.3 + i / 200); // 100 candidates: the top half, 50
    add(1, 30, () => 0.9); // 30: half is 15, under the floor of 20
    add(2, 10, () => 0.9); // 10: all of them
    add(3, 400, (i) => 0.4 + i / 1000); // 400: half is 200, over the cap of 150
    add(4, 50, () => 0.29); // under the confidence floor: none
    add(classByChar('ゝ')!.index, 50, () => 0.99); // left out
    const disagree = [99, 98]; // class 0's two most confident crops: a shifted view answers otherwise
    const chosen = choosePseudoLabels(views(classes, confidences, disagree));
    assert.deepEqual(
      chosen.slice(0, 5).map((c) => c.length),
      [49, 20, 10, 150, 0],
    );
    assert.equal(chosen[classByChar('ゝ')!.index]!.length, 0);
    assert.deepEqual(chosen[0]!.slice(0, 2), [97, 96], 'most confident first, without the crops the views disagree on');
    assert.ok(chosen[3]!.every((i) => confidences[i]! >= confidences[chosen[3]!.at(-1)!]!));
    assert.equal(PSEUDO_LABEL_RULE.capPerClass, 150);
  });

  it("sets each batch-norm layer's statistics to its input's over the images, each layer after the ones before it are adapted", () => {
    const { tf } = loadTf();
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [28, 28, 1],
          filters: 3,
          kernelSize: 3,
          padding: 'same',
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.batchNormalization(),
        tf.layers.reLU(),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
        tf.layers.batchNormalization(),
      ],
    });
    try {
      const images = Uint8Array.from({ length: 2500 * PIXELS }, (_, i) => (i * 2654435761) % 251);
      assert.equal(adaptBatchNorm(tf, model, images), 2);
      const x = tf.tensor4d(toModelInput(images), [2500, 28, 28, 1]);
      let h = model.layers[0]!.apply(x) as ReturnType<typeof tf.tensor4d>;
      // The reference in float64; the layer sums each chunk of a million values in float32: within 1e-4 with these
      // seeded weights, up to 4e-4 with some unseeded ones (a CI run). Kept: the committed pseudo-labels are
      // remade byte for byte by it, and summing per image in float64 changed one crop of 3,102.
      const channelMoments = (t: { dataSync(): unknown; shape: number[] }) => {
        const v = t.dataSync() as Float32Array;
        const c = t.shape.at(-1)!;
        const sum = new Float64Array(c);
        const sq = new Float64Array(c);
        for (let i = 0; i < v.length; i++) {
          sum[i % c]! += v[i]!;
          sq[i % c]! += v[i]! ** 2;
        }
        const n = v.length / c;
        return { mean: Array.from(sum, (x) => x / n), variance: Array.from(sq, (x, k) => x / n - (sum[k]! / n) ** 2) };
      };
      const close = (got: ArrayLike<number>, want: number[], what: string) =>
        want.forEach((w, k) => {
          assert.ok(Math.abs(got[k]! - w) <= 3e-4 * Math.max(1, Math.abs(w)), `${what}[${k}]: ${got[k]} against ${w}`);
        });
      const first = channelMoments(h);
      const [mean1, var1] = model.layers[1]!.getWeights().slice(2);
      close(mean1!.dataSync() as Float32Array, first.mean, 'first moving mean');
      close(var1!.dataSync() as Float32Array, first.variance, 'first moving variance');
      // The dense layer's input comes through the adapted first batch norm.
      for (const k of [1, 2, 3, 4]) h = model.layers[k]!.apply(h, { training: false }) as typeof h;
      const second = channelMoments(h);
      const [mean2, var2] = model.layers[5]!.getWeights().slice(2);
      close(mean2!.dataSync() as Float32Array, second.mean, 'second moving mean');
      close(var2!.dataSync() as Float32Array, second.variance, 'second moving variance');
    } finally {
      model.dispose();
    }
  });

  it("refuses to overwrite another teacher's set, and says how to remake it or where else to write", async () => {
    const out = tempDir();
    const record = JSON.stringify({ teacher: 'k49net-an-earlier-teacher' });
    writeFileSync(path.join(out, PSEUDO_LABELS_RECORD), record);
    await assert.rejects(
      makePseudoLabels({ crops: PAGE_CROPS_DIR, adapt: [], out, log: () => {} }),
      (e: Error) =>
        /holds the pseudo-labels of teacher k49net-an-earlier-teacher; this run's teacher is k49net-\S+ \(artifacts\/latest: no MODEL= given\)/.test(
          e.message,
        ) &&
        e.message.includes('pass MODEL=artifacts/k49net-an-earlier-teacher') &&
        e.message.includes('another DATA= folder'),
    );
    assert.deepEqual(readdirSync(out), [PSEUDO_LABELS_RECORD]);
    assert.equal(readFileSync(path.join(out, PSEUDO_LABELS_RECORD), 'utf8'), record);
  });

  it('the committed pseudo-labelled set holds only crops of the leak-checked crop set, as its records say', async function () {
    if (!existsSync(path.join(PSEUDO_LABELS_DIR, 'k49-train-imgs.npz'))) this.skip();
    const [set, crops] = await Promise.all([loadSplit(PSEUDO_LABELS_DIR, 'train'), loadSplit(PAGE_CROPS_DIR, 'train')]);
    const rows = readFileSync(path.join(PSEUDO_LABELS_DIR, 'pseudo-labels.csv'), 'utf8').trim().split('\n').slice(1);
    assert.equal(rows.length, set.count);
    const record = JSON.parse(readFileSync(path.join(PSEUDO_LABELS_DIR, PSEUDO_LABELS_RECORD), 'utf8')) as {
      images: number;
      per_class: Record<string, number>;
    };
    assert.equal(record.images, set.count);
    assert.ok(!Object.hasOwn(record.per_class, 'ゝ'), 'no ゝ');
    rows.forEach((row, k) => {
      const [crop, label] = row.split(',').map(Number) as [number, number];
      assert.equal(label, set.labels[k]);
      assert.deepEqual(
        set.images.subarray(k * PIXELS, (k + 1) * PIXELS),
        crops.images.subarray(crop * PIXELS, (crop + 1) * PIXELS),
        `image ${k} is crop ${crop}`,
      );
    });
  });
});
