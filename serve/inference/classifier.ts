/**
 * The classifier the API and the queue worker serve: the artifact's
 * K49Classifier (the same compiled model `make evaluate` runs) on its own
 * thread, so model calls never block the event loop: the API keeps parsing
 * requests and the batcher keeps filling the next batch while a batch runs,
 * and the worker decodes its next claim meanwhile. Images go to the thread
 * and probabilities come back as transferred buffers (no copies).
 *
 * How TensorFlow runs the calls (the inference profile) is a per-process
 * choice made before the first model loads: useInferenceProfile.
 */
import { Worker } from 'node:worker_threads';
import type { ModelInfo } from '../../pipeline/core/inference';
import { INFERENCE_THREAD_ENTRY } from '../../pipeline/core/paths';

export interface ThreadData {
  dir: string;
  /** Batch sizes to run once before serving, beyond K49Classifier.load's own warm-up (e.g. the worker's batch size). */
  warmUpBatchSizes: number[];
}
export type ToThread = { type: 'classify'; id: number; images: ArrayBuffer } | { type: 'stop' };
export type FromThread =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'failed'; error: string }
  | { type: 'probabilities'; id: number; probs: ArrayBuffer }
  | { type: 'error'; id: number; error: string };

export class ThreadedClassifier {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (p: Float32Array) => void; reject: (e: Error) => void }>();
  private exited: string | null = null;
  private disposed = false;
  /** Told when the thread ends without dispose() (it crashed): the holder then loads the model afresh. */
  onUnexpectedExit: (reason: string) => void = () => {};

  private constructor(
    private readonly worker: Worker,
    readonly info: ModelInfo,
    readonly dir: string,
  ) {
    worker.on('message', (m: FromThread) => {
      if (m.type !== 'probabilities' && m.type !== 'error') return;
      const call = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.type === 'probabilities') call?.resolve(new Float32Array(m.probs));
      else call?.reject(new Error(m.error));
    });
    worker.on('exit', (code) => this.fail(`the inference thread exited (code ${code})`));
    worker.on('error', (e) => this.fail(`the inference thread failed: ${e.message}`));
  }

  /** Loads and warms the model in a new thread; rejects with the loader's reason (e.g. an incompatible artifact). */
  static start(dir: string, warmUpBatchSizes: number[] = []): Promise<ThreadedClassifier> {
    // The thread loads its code through tsx, like the rest of the project.
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(INFERENCE_THREAD_ENTRY)});`, { eval: true, workerData: { dir, warmUpBatchSizes } satisfies ThreadData });
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`the inference thread exited (code ${code}) while loading ${dir}`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (m: FromThread) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (m.type === 'ready') resolve(new ThreadedClassifier(worker, m.info, dir));
        else {
          void worker.terminate();
          reject(new Error(m.type === 'failed' ? m.error : `unexpected first message '${m.type}' from the inference thread`));
        }
      });
    });
  }

  /** Class probabilities for N K49 images (N*784 bytes): N*49 floats. The bytes are handed over: `images` is unusable afterwards. */
  probabilities(images: Uint8Array): Promise<Float32Array> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    // A view of part of a larger buffer cannot be handed over whole; copy just that part.
    const own = images.byteOffset === 0 && images.byteLength === images.buffer.byteLength ? images : images.slice();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'classify', id, images: own.buffer as ArrayBuffer } satisfies ToThread, [own.buffer as ArrayBuffer]);
    });
  }

  /** Frees the model and ends the thread (calls already sent are answered first). */
  dispose(): void {
    this.disposed = true;
    if (!this.exited) this.worker.postMessage({ type: 'stop' } satisfies ToThread);
  }

  private fail(reason: string): void {
    if (this.exited) return;
    this.exited = reason;
    for (const call of this.pending.values()) call.reject(new Error(reason));
    this.pending.clear();
    if (!this.disposed) this.onUnexpectedExit(reason);
  }
}
