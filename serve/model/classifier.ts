/**
 * The classifier the API and the queue worker serve: the artifact's
 * K49Classifier (the same compiled model `make evaluate` runs) on the
 * process's inference thread, so model calls never block the event loop:
 * the API keeps parsing requests and the batcher keeps filling the next
 * batch while a batch runs, and the worker decodes its next claim meanwhile.
 * Images go to the thread and probabilities come back as transferred
 * buffers (no copies).
 *
 * One thread per process holds every loaded model, so TensorFlow starts once
 * and a hot reload only loads and warms the new model beside the old one.
 * If the thread dies, calls fail with the reason, each model's holder is told
 * (onUnexpectedExit), and the next load starts a new thread.
 *
 * How ONNX Runtime runs the calls (the inference profile: its threads) is a
 * per-process choice made before the first model loads: useInferenceProfile.
 * Its calls block the thread they run on, hence this thread.
 */
import { Worker } from 'node:worker_threads';
import type { FoldedManifest } from '../../pipeline/core/folded-transport';
import type { ModelInfo } from '../../pipeline/core/inference';
import { INFERENCE_THREAD_ENTRY } from '../../pipeline/core/paths';

export type ToThread =
  | { type: 'load'; id: number; dir: string; warmUpBatchSizes: number[] }
  | { type: 'classify'; id: number; model: number; images: ArrayBuffer }
  | { type: 'browser-files'; id: number; model: number }
  | { type: 'unload'; model: number };
export type FromThread =
  | { type: 'loaded'; id: number; model: number; info: ModelInfo }
  | { type: 'probabilities'; id: number; probs: ArrayBuffer }
  | { type: 'browser-files'; id: number; manifest: FoldedManifest; weights: ArrayBuffer }
  | { type: 'error'; id: number; error: string };

/** The served network as the web page downloads it. */
export interface BrowserNetwork {
  manifest: FoldedManifest;
  weights: Uint8Array;
}

type Reply = Exclude<FromThread, { type: 'error' }>;
/** A request as the caller writes it: the thread's request id is added on sending. */
type Request = Extract<ToThread, { id: number }> extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

/** The process's inference thread: requests by id, answers matched back to them. */
class InferenceThread {
  private static current: InferenceThread | null = null;
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (m: Reply) => void; reject: (e: Error) => void }>();
  /** Why the thread ended, once it has. */
  exited: string | null = null;
  /** Told when the thread ends. */
  readonly onExit = new Set<(reason: string) => void>();

  /** The running thread, or a new one when there is none (or it died). */
  static shared(): InferenceThread {
    if (!InferenceThread.current || InferenceThread.current.exited) InferenceThread.current = new InferenceThread();
    return InferenceThread.current;
  }

  private constructor() {
    // The thread loads its code through tsx, like the rest of the project.
    this.worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(INFERENCE_THREAD_ENTRY)});`, { eval: true });
    // An idle thread never keeps the process alive; one with calls in flight does.
    this.worker.unref();
    this.worker.on('message', (m: FromThread) => {
      const call = this.pending.get(m.id);
      if (!call) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.type === 'error') call.reject(new Error(m.error));
      else call.resolve(m);
    });
    this.worker.on('exit', (code) => this.end(`the inference thread exited (code ${code})`));
    this.worker.on('error', (e) => this.end(`the inference thread failed: ${e.message}`));
  }

  /** Sends a request (with the buffers to hand over) and resolves with its answer. */
  request<T extends Reply>(message: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (m: Reply) => void, reject });
      this.worker.postMessage({ ...message, id } as ToThread, transfer);
    });
  }

  /** A message that needs no answer. */
  tell(message: Extract<ToThread, { type: 'unload' }>): void {
    if (!this.exited) this.worker.postMessage(message);
  }

  /** Ends the thread (tests simulate a crash with it). */
  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private end(reason: string): void {
    if (this.exited) return;
    this.exited = reason;
    for (const call of this.pending.values()) call.reject(new Error(reason));
    this.pending.clear();
    for (const listener of this.onExit) listener(reason);
  }
}

export class ThreadedClassifier {
  private disposed = false;
  /** Told when the thread ends while this model is in use (not after dispose()): the holder then loads the model afresh. */
  onUnexpectedExit: (reason: string) => void = () => {};
  private readonly exitListener = (reason: string) => {
    if (!this.disposed) this.onUnexpectedExit(reason);
  };

  private constructor(
    private readonly thread: InferenceThread,
    private readonly model: number,
    readonly info: ModelInfo,
    readonly dir: string,
  ) {
    thread.onExit.add(this.exitListener);
  }

  /** Loads and warms the model (also at `warmUpBatchSizes`) on the inference thread; rejects with the loader's reason (e.g. an incompatible artifact). */
  static async start(dir: string, warmUpBatchSizes: number[] = []): Promise<ThreadedClassifier> {
    const thread = InferenceThread.shared();
    const loaded = await thread.request<Extract<FromThread, { type: 'loaded' }>>({ type: 'load', dir, warmUpBatchSizes });
    return new ThreadedClassifier(thread, loaded.model, loaded.info, dir);
  }

  /**
   * The same network for the web page to run (folded-transport.ts), encoded on
   * the thread at each call: only the API asks, once per model (its route keeps
   * the files), and the queue worker never does.
   */
  async browserNetwork(): Promise<BrowserNetwork> {
    if (this.disposed) throw new Error(`model ${this.info.version} was disposed`);
    const m = await this.thread.request<Extract<FromThread, { type: 'browser-files' }>>({ type: 'browser-files', model: this.model });
    return { manifest: m.manifest, weights: new Uint8Array(m.weights) };
  }

  /** Class probabilities for N K49 images (N*784 bytes): N*49 floats. The bytes are handed over: `images` is unusable afterwards. */
  async probabilities(images: Uint8Array): Promise<Float32Array> {
    if (this.disposed) throw new Error(`model ${this.info.version} was disposed`);
    // A view of part of a larger buffer cannot be handed over whole; copy just that part.
    const own = images.byteOffset === 0 && images.byteLength === images.buffer.byteLength ? images : images.slice();
    const buffer = own.buffer as ArrayBuffer;
    const answer = await this.thread.request<Extract<FromThread, { type: 'probabilities' }>>({ type: 'classify', model: this.model, images: buffer }, [buffer]);
    return new Float32Array(answer.probs);
  }

  /** Frees the model on the thread (calls already sent are answered first). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.thread.onExit.delete(this.exitListener);
    this.thread.tell({ type: 'unload', model: this.model });
  }
}
