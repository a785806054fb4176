/**
 * How many float32 mantissa bits the in-browser model's weights keep
 * (folded-transport.ts WEIGHT_MANTISSA_BITS): for 23 (all), 15, 12, 10 and 7
 * bits, the largest difference of any of the 49 probabilities from the
 * server's (ONNX Runtime, full weights) over kmnist-real's real TRAINING
 * images (never test images), the images over 1e-4, the changed classes, and
 * the weights' size raw and gzip. The rule, written before the run: the
 * fewest of 7, 10, 12, 15 bits within 1e-4 on every image.
 * Run: npx tsx scripts/weight-bits.ts [artifact]
 */
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadTf } from '../pipeline/core/backend';
import { NUM_CLASSES } from '../pipeline/core/classes';
import { loadImages } from '../pipeline/core/dataset';
import { compileSteps, runCompiled } from '../pipeline/core/folded';
import { decodeFolded, encodeFolded } from '../pipeline/core/folded-transport';
import { bestClasses, K49Classifier } from '../pipeline/core/inference';
import { KMNIST_REAL_DIR, LATEST } from '../pipeline/core/paths';
import { IMAGE_SIZE, toModelInput } from '../pipeline/core/preprocess/fit';

(async () => {
  const { tf } = loadTf();
  const classifier = await K49Classifier.load(path.resolve(process.argv[2] ?? LATEST));
  const images = await loadImages(KMNIST_REAL_DIR, 'train');
  const n = images.length / (IMAGE_SIZE * IMAGE_SIZE);
  const server = await classifier.probabilities(images);
  const serverClasses = bestClasses(server).classes;
  console.log(`${n} kmnist-real training images, model ${classifier.info.version}`);
  console.log('| mantissa bits | max abs difference | images over 1e-4 | classes changed | weights bytes | gzip bytes |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const bits of [23, 15, 12, 10, 7]) {
    const { manifest, weights } = encodeFolded(classifier.folded, bits);
    const page = runCompiled(tf, compileSteps(tf, decodeFolded(manifest, weights)), toModelInput(images), IMAGE_SIZE);
    const pageClasses = bestClasses(page).classes;
    let max = 0,
      over = 0,
      changed = 0;
    for (let i = 0; i < n; i++) {
      let worst = 0;
      for (let k = 0; k < NUM_CLASSES; k++) worst = Math.max(worst, Math.abs(page[i * NUM_CLASSES + k]! - server[i * NUM_CLASSES + k]!));
      max = Math.max(max, worst);
      if (worst > 1e-4) over++;
      if (pageClasses[i] !== serverClasses[i]) changed++;
    }
    console.log(`| ${bits} | ${max.toExponential(2)} | ${over} | ${changed} | ${weights.length} | ${gzipSync(weights, { level: 9 }).length} |`);
  }
  classifier.dispose();
})();
