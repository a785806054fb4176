import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs-node';
import { loadTf } from '../../pipeline/core/backend';
import { NUM_CLASSES, topK } from '../../pipeline/core/classes';
import { loadSplit, PIXELS } from '../../pipeline/core/dataset';
import { compileInference, K49Classifier } from '../../pipeline/core/inference';
import { computeMetrics } from '../../pipeline/core/metrics';
import { REPORTS_DIR } from '../../pipeline/core/paths';
import { readEvalRecord } from '../../pipeline/core/records';
import { evaluate, type PredictionRecord } from '../../pipeline/evaluate/evaluate';
import { DEFAULT_SYNTH } from '../../pipeline/synth/config';
import { generateSynthetic } from '../../pipeline/synth/generate';
import { BASELINE_TRAIN, DEFAULT_TRAIN, mergeTrainConfig } from '../../pipeline/train/config';
import { train } from '../../pipeline/train/loop';
import { KMNIST_REAL_DIR, REAL_SAMPLE_DIR, ROOT, tempDir } from '../helpers/paths';

/** A smoke configuration: tiny model and data, a couple of epochs. */
const SMOKE = mergeTrainConfig(DEFAULT_TRAIN, {
  epochs: 2,
  model: { widths: [8, 16, 16], denseUnits: 32 },
  batchSize: 64,
});
const quiet = { progress: false, log: () => {} };

describe('training and evaluation', function () {
  this.timeout(300000);
  let data: string;
  let artifact: string;

  before(async () => {
    data = tempDir('k49-synth-');
    await generateSynthetic(data, { ...DEFAULT_SYNTH, trainPerClass: 12, testPerClass: 4 }, () => {});
    artifact = path.join(tempDir('k49-art-'), 'smoke');
    await train({ data, out: artifact, config: SMOKE, ...quiet });
  });

  it('fine-tunes from an artifact (initFrom): the run starts from its weights; a model of other shapes is refused, naming both', async () => {
    const { tf } = loadTf();
    const out = path.join(tempDir('k49-art-'), 'tuned');
    const oneStep = mergeTrainConfig(SMOKE, {
      epochs: 1,
      maxTrainImages: 64,
      learningRate: 1e-9,
      minLearningRate: 0,
      warmupEpochs: 0,
      emaDecay: 0,
      initFrom: artifact,
    });
    await train({ data, out, config: oneStep, ...quiet });
    const [a, b] = await Promise.all([artifact, out].map((d) => tf.loadLayersModel(`file://${path.join(d, 'model', 'model.json')}`)));
    const wb = b!.getWeights();
    // Kernels start from the artifact's (a learning rate of 1e-9 moves nothing visible).
    const kernelDiffs = a!.getWeights().flatMap((w, i) => (w.rank > 1 ? [tf.tidy(() => tf.max(tf.abs(tf.sub(w, wb[i]!))).dataSync()[0]!)] : []));
    assert.ok(Math.max(...kernelDiffs) < 1e-4, `kernels moved by ${Math.max(...kernelDiffs)}`);
    const wider = mergeTrainConfig(oneStep, { model: { widths: [8, 16, 32] } });
    await assert.rejects(train({ data, out: path.join(tempDir('k49-art-'), 'x'), config: wider, ...quiet }), /initFrom .*do not fit the configured model/);
  });

  it('extrapolates the fine-tuned weights from the initial ones when configured (extrapolate), and records it', async () => {
    const { tf } = loadTf();
    const out = path.join(tempDir('k49-art-'), 'extrapolated');
    const factor = 1.5;
    const config = mergeTrainConfig(SMOKE, { epochs: 1, maxTrainImages: 128, warmupEpochs: 0, emaDecay: 0, initFrom: artifact, extrapolate: factor });
    await train({ data, out, config, ...quiet });
    // checkpoints/best holds the fine-tuned weights before extrapolation (no weight average with emaDecay 0).
    const [init, tuned, saved] = await Promise.all(
      [path.join(artifact, 'model'), path.join(out, 'checkpoints', 'best'), path.join(out, 'model')].map((d) =>
        tf.loadLayersModel(`file://${path.join(d, 'model.json')}`),
      ),
    );
    const [wi, wt, ws] = [init!, tuned!, saved!].map((m) => m.getWeights());
    let moved = 0;
    wi!.forEach((w, i) => {
      const expected = tf.tidy(() => tf.add(w, tf.mul(tf.sub(wt![i]!, w), factor)));
      const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(expected, ws![i]!))).dataSync()[0]!);
      assert.ok(gap < 1e-5, `weight ${i}: ${gap} from init + ${factor} x (tuned - init)`);
      moved = Math.max(
        moved,
        tf.tidy(() => tf.max(tf.abs(tf.sub(wt![i]!, w))).dataSync()[0]!),
      );
      expected.dispose();
    });
    assert.ok(moved > 1e-4, 'fine-tuning moved the weights');
    const record = JSON.parse(readFileSync(path.join(out, 'train.json'), 'utf8'));
    assert.equal(record.extrapolated.factor, factor);
    assert.ok(record.extrapolated.val_balanced_accuracy >= 0 && record.extrapolated.val_balanced_accuracy <= 1);
  });

  it('writes a complete artifact', () => {
    for (const f of ['model/model.json', 'model/weights.bin', 'classes.csv', 'preprocess.json', 'config.json', 'train.json']) {
      assert.ok(existsSync(path.join(artifact, f)), `missing ${f}`);
    }
    const record = JSON.parse(readFileSync(path.join(artifact, 'train.json'), 'utf8'));
    assert.equal(record.epochs_run, 2);
    assert.equal(record.history.length, 2);
    assert.match(record.data.md5['k49-train-imgs.npz'], /^[0-9a-f]{32}$/);
    assert.equal(record.backend, 'tensorflow');
    assert.deepEqual(JSON.parse(readFileSync(path.join(artifact, 'config.json'), 'utf8')), SMOKE);
  });

  it('evaluates on the real sample, writes every report, and the figures recount from predictions.json', async () => {
    const out = tempDir('k49-eval-');
    const { metrics } = await evaluate({ data: REAL_SAMPLE_DIR, model: artifact, out, log: () => {} });
    for (const f of [
      'metrics.json',
      'classification_report.txt',
      'confusion_matrix.png',
      'confusion_matrix.html',
      'confused_pairs.json',
      'misclassified.png',
      'predictions.json',
    ]) {
      assert.ok(existsSync(path.join(out, f)), `missing ${f}`);
    }
    const saved = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    assert.equal(saved.classes_present, 41);
    assert.equal(saved.per_class.length, 49);
    for (const k of ['precision', 'recall', 'f1', 'support']) assert.ok(k in saved.per_class[0]);
    const preds = JSON.parse(readFileSync(path.join(out, 'predictions.json'), 'utf8')) as PredictionRecord[];
    assert.equal(preds.length, 2092);
    const recount = computeMetrics(
      preds.map((p) => p.true_class),
      preds.map((p) => p.predicted_class),
    );
    assert.equal(recount.accuracy, saved.accuracy);
    assert.equal(recount.balanced_accuracy, saved.balanced_accuracy);
    assert.equal(metrics.balanced_accuracy, saved.balanced_accuracy);
    const [lo, hi] = saved.balanced_accuracy_ci95;
    assert.ok(lo <= saved.balanced_accuracy && saved.balanced_accuracy <= hi, `interval ${lo} .. ${hi}`);
    const html = readFileSync(path.join(out, 'confusion_matrix.html'), 'utf8');
    assert.ok(!/src="https?:/.test(html), 'the HTML report must not load scripts from the network');
    assert.match(html, /Plotly\.newPlot/);
  });

  it("evaluates on a train split the model never trained on (SPLIT=train), into its own report folder; refuses the model's own training data", async () => {
    const { metrics, outDir } = await evaluate({ data: KMNIST_REAL_DIR, split: 'train', model: artifact, log: () => {} });
    assert.equal(outDir, path.join(artifact, 'eval-kmnist-real-train'));
    const { labels } = await loadSplit(KMNIST_REAL_DIR, 'train');
    assert.equal(metrics.count, labels.length);
    const record = readEvalRecord(outDir)!;
    assert.equal(record.data.split, 'train');
    assert.equal(record.data.images, labels.length);
    assert.deepEqual(Object.keys(record.data.md5), ['k49-train-imgs.npz', 'k49-train-labels.npz']);
    await assert.rejects(evaluate({ data, split: 'train', model: artifact, log: () => {} }), /was trained on .*evaluate it on a test split instead/);
  });

  it('records an evaluation in the artifact only when it has none yet or RECORD=1 asks; otherwise reports go to reports/<artifact>/<data> and the artifact is untouched', async () => {
    const fresh = path.join(tempDir('k49-art-'), 'fresh');
    cpSync(artifact, fresh, { recursive: true });
    for (const f of readdirSync(fresh)) if (f === 'metrics.json' || f.startsWith('eval-')) rmSync(path.join(fresh, f), { recursive: true });
    const first = await evaluate({ data, model: fresh, log: () => {} });
    assert.equal(first.outDir, fresh, 'a fresh artifact gets its first evaluation as its own record');
    const own = readFileSync(path.join(fresh, 'metrics.json'), 'utf8');
    const card = readFileSync(path.join(fresh, 'MODEL_CARD.md'), 'utf8');
    const lines: string[] = [];
    const other = await evaluate({ data: REAL_SAMPLE_DIR, model: fresh, log: (l) => lines.push(l) });
    assert.equal(other.outDir, path.join(REPORTS_DIR, 'fresh', 'real-sample'));
    assert.ok(lines.some((l) => /own record is unchanged \(RECORD=1/.test(l)));
    assert.deepEqual([readFileSync(path.join(fresh, 'metrics.json'), 'utf8'), readFileSync(path.join(fresh, 'MODEL_CARD.md'), 'utf8')], [own, card]);
    assert.ok(!existsSync(path.join(fresh, 'eval-real-sample')));
    const recorded = await evaluate({ data: REAL_SAMPLE_DIR, model: fresh, record: true, log: () => {} });
    assert.equal(recorded.outDir, path.join(fresh, 'eval-real-sample'), 'another data set is recorded beside the own one, never over it');
    assert.equal(readFileSync(path.join(fresh, 'metrics.json'), 'utf8'), own);
    assert.match(readFileSync(path.join(fresh, 'MODEL_CARD.md'), 'utf8'), /`real-sample`/);
    rmSync(path.join(REPORTS_DIR, 'fresh'), { recursive: true, force: true });
  });

  it('both inference paths (fused TensorFlow.js ops for validation, the ONNX graph for serving) predict what tfjs-layers predicts (smoke model and the bundled two-convolutions-per-stage model)', async () => {
    const { tf } = loadTf();
    const { images } = await loadSplit(REAL_SAMPLE_DIR, 'test');
    const x = tf.tensor4d(
      Float32Array.from(images.subarray(0, 64 * PIXELS), (v) => v / 255),
      [64, 28, 28, 1],
    );
    for (const dir of [artifact, path.join(ROOT, 'artifacts', 'latest')]) {
      const model = await tf.loadLayersModel(`file://${path.join(dir, 'model', 'model.json')}`);
      const steps = compileInference(tf, model);
      const reference = (model.predict(x) as TF.Tensor).dataSync();
      let y: TF.Tensor = x;
      for (const step of steps) y = step(tf, y);
      const served = await K49Classifier.load(dir);
      for (const [path, got] of [
        ['fused', y.dataSync()],
        ['onnx', await served.probabilities(images.subarray(0, 64 * PIXELS))],
      ] as const) {
        let maxDiff = 0;
        reference.forEach((v, i) => {
          maxDiff = Math.max(maxDiff, Math.abs(v - got[i]!));
        });
        assert.ok(maxDiff < 1e-4, `${dir}, ${path}: max difference ${maxDiff}`);
      }
      served.dispose();
    }
  });

  it('resumes from the last checkpoint', async () => {
    const out = path.join(tempDir('k49-resume-'), 'run');
    await train({ data, out, config: { ...SMOKE, epochs: 1 }, ...quiet });
    // Extend the run to 2 epochs and continue it.
    const cfgFile = path.join(out, 'config.json');
    writeFileSync(cfgFile, JSON.stringify({ ...SMOKE, epochs: 2 }));
    const r = await train({ data, out, resume: true, ...quiet });
    assert.deepEqual(
      r.history.map((h) => h.epoch),
      [1, 2],
    );
  });

  it('two runs with the same seed and config agree within 0.5 points', async () => {
    const again = path.join(tempDir('k49-art-'), 'smoke');
    const a = JSON.parse(readFileSync(path.join(artifact, 'train.json'), 'utf8'));
    await train({ data, out: again, config: SMOKE, ...quiet });
    const b = JSON.parse(readFileSync(path.join(again, 'train.json'), 'utf8'));
    for (let e = 0; e < 2; e++) {
      const d = Math.abs(a.history[e].val_balanced_accuracy - b.history[e].val_balanced_accuracy);
      assert.ok(d <= 0.005, `epoch ${e + 1}: ${a.history[e].val_balanced_accuracy} vs ${b.history[e].val_balanced_accuracy}`);
    }
  });

  it("trains the replaced system's recipe for comparison", async () => {
    const out = path.join(tempDir('k49-base-'), 'baseline');
    const r = await train({ data, out, config: { ...BASELINE_TRAIN, epochs: 1 }, ...quiet });
    assert.equal(r.history.length, 1);
    assert.equal(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')).model.architecture, 'baseline');
    const c = await K49Classifier.load(out);
    assert.equal(topK(await c.probabilities(new Uint8Array(PIXELS)), 5).length, 5);
  });
});

describe('the bundled default model', () => {
  const latest = path.join(ROOT, 'artifacts', 'latest');

  it('loads, predicts, and its model card carries its measured real-sample figures', async function () {
    this.timeout(60000);
    const c = await K49Classifier.load(latest);
    const { images, labels } = await loadSplit(REAL_SAMPLE_DIR, 'test');
    const first100 = images.subarray(0, 100 * PIXELS);
    const probs = await c.probabilities(first100);
    const preds = Array.from({ length: 100 }, (_, i) => topK(probs.subarray(i * NUM_CLASSES, (i + 1) * NUM_CLASSES), 5));
    const { classes, confidences } = await c.classify(first100);
    preds.forEach((p, i) => {
      assert.equal(p.length, 5);
      assert.ok(p[0]!.confidence >= p[1]!.confidence);
      // The one argmax (evaluation, worker) and the one top-k (API) agree.
      assert.deepEqual([p[0]!.class_id, p[0]!.confidence], [classes[i], confidences[i]]);
    });
    const metrics = JSON.parse(readFileSync(path.join(latest, 'metrics.json'), 'utf8'));
    assert.equal(metrics.data.name, 'real-sample');
    assert.equal(metrics.data.images, 2092);
    const card = readFileSync(path.join(latest, 'MODEL_CARD.md'), 'utf8');
    assert.ok(card.includes(metrics.balanced_accuracy.toFixed(4)), 'model card lacks the real-sample balanced accuracy');
    assert.ok(card.includes(metrics.accuracy.toFixed(4)));
    assert.match(card, /synthetic/i);
    // The commit it was trained from, said in words: a raw '-dirty' suffix is jargon.
    assert.ok(!card.includes('-dirty'), 'the card shows a raw -dirty commit');
    assert.match(card, /git commit [0-9a-f]{40}(\.|, with changes not yet committed in the working tree at the time)/);
    // The recorded figure is what this code measures now on the real sample.
    assert.equal(computeMetrics(labels, (await c.classify(images)).classes).balanced_accuracy, metrics.balanced_accuracy);
  });
});
