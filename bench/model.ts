/**
 * Training and inference benchmark (`make bench`, model part): training
 * images/s of the default recipe (augmentation included), inference images/s
 * at batch 1 and 256 through the serving inference path, and peak memory.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { loadTf } from '../pipeline/core/backend';
import { PIXELS } from '../pipeline/core/dataset';
import { augmentBatch } from '../pipeline/train/augment-batch';
import { K49Classifier } from '../pipeline/core/inference';
import { buildModel } from '../pipeline/train/model';
import { Random } from '../pipeline/core/random';
import { DEFAULT_TRAIN } from '../pipeline/train/config';
import { NUM_CLASSES } from '../pipeline/core/classes';
import { toModelInput } from '../pipeline/core/preprocess';

function peakRssMb(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

export async function benchModel(modelDir: string, log = console.error) {
  const { tf, name: backend } = loadTf();
  const rng = new Random('bench');
  const images = Uint8Array.from({ length: 1024 * PIXELS }, () => (rng.chance(0.2) ? rng.int(128, 256) : 0));

  // Training throughput: the default architecture, batch size and augmentation.
  const cfg = DEFAULT_TRAIN;
  const model = buildModel(tf, cfg.model, cfg.seed);
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const bs = cfg.batchSize;
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: bs }, (_, i) => i % NUM_CLASSES), 'int32'), NUM_CLASSES).toFloat();
  const step = async (k: number) => {
    const x = toModelInput(images.subarray((k % 8) * bs * PIXELS, ((k % 8) + 1) * bs * PIXELS));
    const xa = augmentBatch(tf, x, rng, cfg.augment);
    await model.trainOnBatch(xa, y);
    xa.dispose();
  };
  for (let k = 0; k < 3; k++) await step(k);
  const steps = 20;
  let t = performance.now();
  for (let k = 0; k < steps; k++) await step(k);
  const trainIps = (steps * bs) / ((performance.now() - t) / 1000);
  log(`training: ${trainIps.toFixed(0)} img/s (batch ${bs}, augmentation on)`);

  // Inference through the service's path.
  const classifier = await K49Classifier.load(modelDir);
  const one = images.subarray(0, PIXELS);
  for (let i = 0; i < 50; i++) classifier.probabilities(one);
  const lat: number[] = [];
  for (let i = 0; i < 500; i++) {
    t = performance.now();
    classifier.probabilities(images.subarray((i % 1024) * PIXELS, ((i % 1024) + 1) * PIXELS));
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const batch = images.subarray(0, 256 * PIXELS);
  classifier.probabilities(batch);
  t = performance.now();
  for (let i = 0; i < 10; i++) classifier.probabilities(batch);
  const ips256 = 2560 / ((performance.now() - t) / 1000);
  const result = {
    backend,
    model_version: classifier.info.version,
    training_images_per_second: Math.round(trainIps),
    inference_batch1: {
      p50_ms: Number(percentile(lat, 0.5).toFixed(3)),
      p99_ms: Number(percentile(lat, 0.99).toFixed(3)),
      images_per_second: Math.round(1000 / (lat.reduce((a, b) => a + b, 0) / lat.length)),
    },
    inference_batch256_images_per_second: Math.round(ips256),
    peak_rss_mb: Math.round(peakRssMb()),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
  };
  log(
    `inference: batch 1 p50 ${result.inference_batch1.p50_ms} ms (p99 ${result.inference_batch1.p99_ms} ms, ${result.inference_batch1.images_per_second} img/s); ` +
      `batch 256 ${result.inference_batch256_images_per_second} img/s; peak RSS ${result.peak_rss_mb} MB`,
  );
  return result;
}
