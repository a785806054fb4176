/**
 * TensorFlow.js's WebAssembly backend beside native TensorFlow, on the same
 * model and the same fused inference path (K49Classifier), in one process:
 * batch-1 latency and batch-256 throughput, and whether both give the same
 * classes on the real sample (README, Performance: inference profiles).
 * The WebAssembly backend is not a project dependency; to run this:
 *
 *   npm i --no-save @tensorflow/tfjs-backend-wasm@4.22.0 && npx tsx bench/wasm.ts [model dir]
 *
 * Native TensorFlow runs the API's `latency` profile. In Node the
 * WebAssembly backend runs with SIMD and without threads (it reports why).
 */
import { createRequire } from 'node:module';
import { loadTf, useInferenceProfile } from '../pipeline/core/backend';
import { resolveModelDir } from '../pipeline/core/artifacts';
import { loadSplit, PIXELS } from '../pipeline/core/dataset';
import { bestClasses, K49Classifier } from '../pipeline/core/inference';
import { REAL_SAMPLE_DIR } from '../pipeline/core/paths';

const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';
/** Rounds per backend, each of this many single-image calls (and a batch-256 figure). */
const ROUNDS = 5;
const CALLS = 200;

function batch1P50(classifier: K49Classifier, images: Uint8Array): number {
  const lat: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const at = (i % 1024) * PIXELS;
    const t = performance.now();
    classifier.probabilities(images.subarray(at, at + PIXELS));
    lat.push(performance.now() - t);
  }
  return lat.sort((a, b) => a - b)[Math.floor(CALLS / 2)]!;
}

function batch256(classifier: K49Classifier, images: Uint8Array): number {
  const batch = images.subarray(0, 256 * PIXELS);
  classifier.probabilities(batch);
  const t = performance.now();
  for (let i = 0; i < 3; i++) classifier.probabilities(batch);
  return 768 / ((performance.now() - t) / 1000);
}

const BACKENDS = ['tensorflow', 'wasm'] as const;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

async function main() {
  useInferenceProfile('latency');
  const { tf } = loadTf('cpu');
  try {
    createRequire(__filename).resolve(WASM_PACKAGE);
  } catch {
    throw new Error(`${WASM_PACKAGE} is not installed: npm i --no-save ${WASM_PACKAGE}@${tf.version.tfjs}`);
  }
  await import(WASM_PACKAGE);
  const sample = await loadSplit(REAL_SAMPLE_DIR, 'test');
  const classifier = await K49Classifier.load(resolveModelDir(process.argv[2]));
  // One backend after the other, native first: switching back and forth moves the model's weights between them.
  const probs: Record<string, Float32Array> = {};
  for (const backend of BACKENDS) {
    await tf.setBackend(backend);
    await tf.ready();
    if (backend === 'wasm') console.log(`wasm: SIMD ${String(tf.env().get('WASM_HAS_SIMD_SUPPORT'))}, threads ${String(tf.env().get('WASM_HAS_MULTITHREAD_SUPPORT'))}`);
    probs[backend] = classifier.probabilities(sample.images);
    batch1P50(classifier, sample.images); // warm-up
    const p50: number[] = [], img256: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      p50.push(batch1P50(classifier, sample.images));
      img256.push(batch256(classifier, sample.images));
    }
    console.log(`${backend}: batch 1 p50 ${median(p50).toFixed(3)} ms (rounds ${p50.map((x) => x.toFixed(2)).join(', ')}); batch 256 ${Math.round(median(img256))} img/s (rounds ${img256.map(Math.round).join(', ')})`);
  }
  const native = bestClasses(probs.tensorflow!).classes, wasm = bestClasses(probs.wasm!).classes;
  const sameClass = native.filter((c, i) => c === wasm[i]).length;
  const maxDiff = probs.tensorflow!.reduce((m, p, i) => Math.max(m, Math.abs(p - probs.wasm![i]!)), 0);
  console.log(`same class for ${sameClass} of ${sample.count} real-sample images; largest probability difference ${maxDiff.toExponential(1)}`);
}

void main();
