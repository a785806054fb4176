/**
 * Picks the TensorFlow.js backend at run time:
 *  - `@tensorflow/tfjs-node-gpu` when CUDA is present and that package is installed,
 *  - else `@tensorflow/tfjs-node` (native TensorFlow on the CPU),
 *  - the pure-JS backend only when asked for explicitly (K49_BACKEND=js), with a
 *    warning: it is about 1,000 times slower, so it is never a silent fallback.
 */
import { existsSync } from 'node:fs';
import type * as TF from '@tensorflow/tfjs-node';

export type BackendChoice = 'auto' | 'gpu' | 'cpu' | 'js';
export type Tf = typeof TF;

let loaded: { tf: Tf; name: string } | null = null;

/**
 * How native TensorFlow runs a process's model calls. TensorFlow reads these
 * settings once, when it loads, so a process picks one before its first model:
 *  - 'throughput' (TensorFlow's defaults: oneDNN kernels on every core) is
 *    fastest for large batches (training, evaluation, the queue worker);
 *  - 'latency' (TensorFlow's own kernels on one intra-op thread) is several
 *    times faster for one image or a few (the API), where oneDNN's per-call
 *    set-up and the thread hand-offs cost more than the arithmetic.
 * Both give the same classes (the README's Performance section; the e2e test
 * that /predict answers what `make evaluate` does, image by image).
 */
export type InferenceProfile = 'latency' | 'throughput';
export const INFERENCE_PROFILES: readonly InferenceProfile[] = ['latency', 'throughput'];
let profile: InferenceProfile = 'throughput';

/** Sets how TensorFlow will run this process's model calls; refused once TensorFlow is loaded (it would have no effect). */
export function useInferenceProfile(wanted: InferenceProfile): void {
  if (loaded && wanted !== profile) throw new Error(`the inference profile must be chosen before TensorFlow loads (it runs as '${profile}')`);
  profile = wanted;
  // Set in the process environment (setenv), where the native library reads them; 'throughput' keeps TensorFlow's defaults.
  if (wanted === 'latency') {
    process.env.TF_ENABLE_ONEDNN_OPTS = '0';
    process.env.TF_NUM_INTRAOP_THREADS = '1';
  }
}

/**
 * The profile this process runs (or will run) its model calls with.
 * @public (read by test/pipeline/backend.test.ts from a child process's script)
 */
export function inferenceProfile(): InferenceProfile {
  return profile;
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
