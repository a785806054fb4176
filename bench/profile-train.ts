/**
 * Where a training step's time goes (README, Performance: training profile).
 * Prints, per batch of the full recipe, the time of each part (sampling is
 * per epoch and negligible): gathering the batch, augmentation, the training
 * step, weight averaging, and validation per epoch; then the TensorFlow
 * kernels of one step, with the new step and with tfjs-layers' trainOnBatch.
 *
 *   npx tsx bench/profile-train.ts [convs per stage, default 1]
 */
import type * as TF from '@tensorflow/tfjs-node';
import { loadTf, type Tf } from '../pipeline/core/backend';
import { NUM_CLASSES } from '../pipeline/core/classes';
import { PIXELS } from '../pipeline/core/dataset';
import { Random } from '../pipeline/core/random';
import { augmentBatch } from '../pipeline/train/augment';
import { DEFAULT_TRAIN, mergeTrainConfig } from '../pipeline/train/config';
import { modelFor, predictClasses } from '../pipeline/train/loop';
import { buildModel } from '../pipeline/train/model';
import { gatherBatch } from '../pipeline/train/sampling';

interface KernelBackend {
  executeSingleOutput: (...a: unknown[]) => unknown;
  executeMultipleOutputs: (...a: unknown[]) => unknown;
}

/** Runs `fn` with every kernel call timed (each call waits for its kernel); returns calls and ms per kernel name. */
async function kernelTimes(tf: Tf, fn: () => unknown | Promise<unknown>) {
  const backend = tf.backend() as unknown as KernelBackend;
  const originals = { single: backend.executeSingleOutput, multiple: backend.executeMultipleOutputs };
  const times = new Map<string, { calls: number; ms: number }>();
  const timed = (f: (...a: unknown[]) => unknown) =>
    function (this: unknown, name: unknown, ...rest: unknown[]) {
      const started = performance.now();
      const out = f.call(backend, name, ...rest);
      const entry = times.get(String(name)) ?? { calls: 0, ms: 0 };
      entry.calls++;
      entry.ms += performance.now() - started;
      times.set(String(name), entry);
      return out;
    };
  backend.executeSingleOutput = timed(originals.single);
  backend.executeMultipleOutputs = timed(originals.multiple);
  try {
    await fn();
  } finally {
    backend.executeSingleOutput = originals.single;
    backend.executeMultipleOutputs = originals.multiple;
  }
  return [...times.entries()].sort((a, b) => b[1].ms - a[1].ms);
}

async function main() {
  const { tf } = loadTf();
  const convs = Number(process.argv[2] ?? 1);
  const cfg = mergeTrainConfig(DEFAULT_TRAIN, { model: { convsPerStage: [convs, convs, convs] } });
  const rng = new Random('profile');
  const n = 4096;
  const data = {
    images: Uint8Array.from({ length: n * PIXELS }, () => (rng.chance(0.2) ? rng.int(128, 256) : 0)),
    labels: Uint8Array.from({ length: n }, (_, i) => i % NUM_CLASSES),
    source: new Uint8Array(n),
    count: n,
    sources: [],
  };
  const run = await modelFor(tf, cfg, null);
  const parts = { gather: 0, augmentation: 0, step: 0, averaging: 0 };
  const steps = 20;
  for (let k = 0; k < steps + 3; k++) {
    const idx = Array.from({ length: cfg.batchSize }, () => rng.int(0, n));
    const t0 = performance.now();
    const { x, y } = gatherBatch(data, idx);
    const t1 = performance.now();
    const xa = augmentBatch(tf, x, rng, cfg.augment);
    const t2 = performance.now();
    run.step.run(xa, y, k);
    const t3 = performance.now();
    run.average?.update(k);
    const t4 = performance.now();
    xa.dispose();
    if (k < 3) continue;
    parts.gather += t1 - t0;
    parts.augmentation += t2 - t1;
    parts.step += t3 - t2;
    parts.averaging += t4 - t3;
  }
  const perBatch = Object.values(parts).reduce((a, b) => a + b, 0) / steps;
  console.log(
    `k49net, ${convs} conv(s) per stage, batch ${cfg.batchSize}: ${perBatch.toFixed(1)} ms per batch (${Math.round((cfg.batchSize / perBatch) * 1000)} img/s)`,
  );
  for (const [part, ms] of Object.entries(parts))
    console.log(`  ${part.padEnd(14)} ${(ms / steps).toFixed(2).padStart(7)} ms  ${((100 * ms) / steps / perBatch).toFixed(1).padStart(5)} %`);
  const started = performance.now();
  predictClasses(tf, run.model, data.images.subarray(0, 1000 * PIXELS));
  console.log(`  validation     ${(performance.now() - started).toFixed(1)} ms per 1,000 images, once per epoch`);

  const x = tf.randomUniform([cfg.batchSize, 28, 28, 1]) as TF.Tensor4D;
  const y = Int32Array.from({ length: cfg.batchSize }, (_, i) => i % NUM_CLASSES);
  const layers = buildModel(tf, cfg.model, cfg.seed);
  layers.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const yHot = tf.oneHot(tf.tensor1d(y, 'int32'), NUM_CLASSES).toFloat();
  await layers.trainOnBatch(x, yHot);
  for (const [name, fn] of [
    ['training step (pipeline/train/step.ts)', () => run.step.run(x, y, 0)],
    ["tfjs-layers' trainOnBatch (before)", () => layers.trainOnBatch(x, yHot)],
  ] as const) {
    const kernels = await kernelTimes(tf, fn);
    const total = kernels.reduce((a, [, k]) => a + k.ms, 0);
    console.log(`\n${name}: ${kernels.reduce((a, [, k]) => a + k.calls, 0)} kernel calls, ${total.toFixed(1)} ms in kernels; the ten largest:`);
    for (const [kernel, k] of kernels.slice(0, 10))
      console.log(`  ${kernel.padEnd(30)} ${k.ms.toFixed(2).padStart(8)} ms ${String(k.calls).padStart(5)} calls`);
  }
}

void main();
