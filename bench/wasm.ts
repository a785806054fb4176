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
 * WebAssembly backend runs with SIMD and without threads (it prints both).
 */
import { createRequire } from 'node:module';
import { resolveModelDir } from '../pipeline/core/artifacts';
import { loadTf, useInferenceProfile } from '../pipeline/core/backend';
import { loadSplit } from '../pipeline/core/dataset';
import { bestClasses, K49Classifier } from '../pipeline/core/inference';
import { REAL_SAMPLE_DIR } from '../pipeline/core/paths';
import { batch1Latencies, batch256ImagesPerSecond, percentile } from './model';

const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';
/** Single-image calls per backend: rounds x calls (bench/model.ts's batch-1 measurement). */
const ROUNDS = 5;
const CALLS = 200;

const BACKENDS = ['tensorflow', 'wasm'] as const;

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
    if (backend === 'wasm')
      console.log(`wasm: SIMD ${String(tf.env().get('WASM_HAS_SIMD_SUPPORT'))}, threads ${String(tf.env().get('WASM_HAS_MULTITHREAD_SUPPORT'))}`);
    probs[backend] = classifier.probabilities(sample.images);
    const [latencies] = batch1Latencies([classifier], sample.images, ROUNDS, CALLS) as [number[]];
    console.log(
      `${backend}: batch 1 p50 ${percentile(latencies, 0.5).toFixed(3)} ms; batch 256 ${Math.round(batch256ImagesPerSecond(classifier, sample.images))} img/s`,
    );
  }
  const native = bestClasses(probs.tensorflow!).classes,
    wasm = bestClasses(probs.wasm!).classes;
  const sameClass = native.filter((c, i) => c === wasm[i]).length;
  const maxDiff = probs.tensorflow!.reduce((m, p, i) => Math.max(m, Math.abs(p - probs.wasm![i]!)), 0);
  console.log(`same class for ${sameClass} of ${sample.count} real-sample images; largest probability difference ${maxDiff.toExponential(1)}`);
}

void main();
