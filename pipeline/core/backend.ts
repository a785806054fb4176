/**
 * Picks the TensorFlow.js backend at run time:
 *  - `@tensorflow/tfjs-node-gpu` when CUDA is present and that package is installed,
 *  - else `@tensorflow/tfjs-node` (native TensorFlow on the CPU),
 *  - the pure-JS backend only when asked for explicitly (K49_BACKEND=js), with a
 *    warning: it is about 1,000 times slower, so it is never a silent fallback.
 */
import { existsSync } from 'node:fs';
import type * as TF from '@tensorflow/tfjs-node';
import type * as ort from 'onnxruntime-node';

export type BackendChoice = 'auto' | 'gpu' | 'cpu' | 'js';
export type Tf = typeof TF;

let loaded: { tf: Tf; name: string } | null = null;

/**
 * How ONNX Runtime runs a process's model calls (K49Classifier, inference.ts):
 *  - 'throughput' (intra-op threads on every core) is fastest for large
 *    batches (evaluation, the queue worker);
 *  - 'latency' (one intra-op thread) suits one image or a few at a time (the
 *    API), whose event loop needs the other core meanwhile.
 * Both give the same classes (the e2e test that /predict answers what
 * `make evaluate` does, image by image). A session reads it when a model loads.
 */
export type InferenceProfile = 'latency' | 'throughput';
export const INFERENCE_PROFILES: readonly InferenceProfile[] = ['latency', 'throughput'];
let profile: InferenceProfile = 'throughput';

/** Sets how this process's models (those loaded from now on) run their calls. */
export function useInferenceProfile(wanted: InferenceProfile): void {
  profile = wanted;
}

// ONNX Runtime's telemetry off: it would keep a device id in TMPDIR and send usage data out. The native library reads
// it from the process environment, which only the main thread's process.env writes (a worker thread's is its own copy):
// the API and the worker load this module on their main thread before their inference thread starts.
process.env.ORT_DISABLE_TELEMETRY = '1';

let onnxRuntime: typeof ort | null = null;

/** ONNX Runtime (onnxruntime-node), loaded once per thread. */
export function loadOnnxRuntime(): typeof ort {
  onnxRuntime ??= require('onnxruntime-node') as typeof ort;
  return onnxRuntime;
}

/** ONNX Runtime's session options for this process's profile. */
export function inferenceSessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    // 0: ONNX Runtime's default, a thread per physical core.
    intraOpNumThreads: profile === 'latency' ? 1 : 0,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Idle pool threads sleep instead of spinning: in the worker they would take the core its event loop decodes on.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

function cudaPresent(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
}

function requireNative(pkg: string): Tf {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // By name at run time: tfjs-node-gpu is optional (installed only on CUDA machines).
  return require(pkg) as Tf;
}

/** Loads TensorFlow.js once per process; later calls return the same instance. */
export function loadTf(choice: BackendChoice = (process.env.K49_BACKEND as BackendChoice) || 'auto'): { tf: Tf; name: string } {
  if (!['auto', 'gpu', 'cpu', 'js'].includes(choice)) {
    throw new Error(`K49_BACKEND must be auto, gpu, cpu or js; got '${choice}'`);
  }
  if (loaded) return loaded;
  if (choice === 'js') {
    console.warn('WARNING: K49_BACKEND=js: using the pure-JavaScript TensorFlow.js backend, about 1,000x slower than native.');
    const tf = require('@tensorflow/tfjs') as Tf;
    loaded = { tf, name: `js (${tf.getBackend()})` };
    return loaded;
  }
  if (choice === 'gpu' || (choice === 'auto' && cudaPresent())) {
    try {
      const tf = requireNative('@tensorflow/tfjs-node-gpu');
      loaded = { tf, name: 'tensorflow-gpu' };
      return loaded;
    } catch (e) {
      if (choice === 'gpu') {
        throw new Error(`K49_BACKEND=gpu but @tensorflow/tfjs-node-gpu cannot be loaded: ${(e as Error).message}`);
      }
      console.warn(`CUDA found but @tensorflow/tfjs-node-gpu is not usable (${(e as Error).message.split('\n')[0]}); using the CPU build.`);
    }
  }
  let tf: Tf;
  try {
    tf = requireNative('@tensorflow/tfjs-node');
  } catch (e) {
    throw new Error(
      `The native TensorFlow backend (@tensorflow/tfjs-node) cannot be loaded: ${(e as Error).message.split('\n')[0]}\n` +
        'Run `make setup` to install or build it. (K49_BACKEND=js forces the pure-JS backend, about 1,000x slower.)',
    );
  }
  if (tf.getBackend() !== 'tensorflow') {
    throw new Error(`@tensorflow/tfjs-node loaded but the backend is '${tf.getBackend()}', not 'tensorflow'; run \`make setup\`.`);
  }
  loaded = { tf, name: 'tensorflow' };
  return loaded;
}
