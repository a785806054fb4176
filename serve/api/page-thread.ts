/**
 * The API's page-cutting thread: decoding a page, cutting it and cropping its characters takes up to a
 * second or so of JavaScript, which on the event loop would hold every other request for that long. One
 * thread per API process, started on the first page, does it; pages queue for it. The cutter's questions
 * about candidate pieces come back here and go to the served model, which this side holds. Failures come
 * back as the errors the API maps to statuses (ImageDecodeError, PageReadError).
 */
import { Worker } from 'node:worker_threads';
import { PAGE_THREAD_ENTRY } from '../../pipeline/core/paths';
import { type DecodeErrorKind, ImageDecodeError } from '../../pipeline/core/preprocess/decode';
import type { Judge } from '../../pipeline/page/judged-cut';
import { type CutCharacters, PageReadError } from '../../pipeline/page/read';

export type ToPageThread =
  | { type: 'page'; id: number; bytes: ArrayBuffer; maxPixels: number; maxCharacters: number }
  | { type: 'judged'; question: number; probabilities: Float32Array }
  | { type: 'judged'; question: number; error: string };
export type FromPageThread =
  | { id: number; cut: CutCharacters }
  | { id: number; judge: { question: number; images: Uint8Array } }
  | {
      id: number;
      error:
        | { type: 'decode'; kind: DecodeErrorKind; message: string }
        | { type: 'page'; kind: PageReadError['kind']; message: string }
        | { type: 'other'; message: string };
    };

export class PageThread {
  private worker: Worker | null = null;
  private next = 0;
  private readonly pending = new Map<number, { resolve: (cut: CutCharacters) => void; reject: (e: Error) => void; judge: Judge }>();

  private start(): Worker {
    // The thread loads its code through tsx, like the rest of the project.
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(PAGE_THREAD_ENTRY)});`, { eval: true });
    worker.unref();
    worker.on('message', (m: FromPageThread) => {
      const call = this.pending.get(m.id);
      if (!call) return;
      if ('judge' in m) {
        // The cutter's question about a page's candidate pieces, answered by the model the page is read with.
        const { question, images } = m.judge;
        call.judge(images).then(
          (probabilities) => worker.postMessage({ type: 'judged', question, probabilities } satisfies ToPageThread, [probabilities.buffer as ArrayBuffer]),
          (e: Error) => worker.postMessage({ type: 'judged', question, error: e.message } satisfies ToPageThread),
        );
        return;
      }
      this.pending.delete(m.id);
      if ('cut' in m) call.resolve(m.cut);
      else if (m.error.type === 'decode') call.reject(new ImageDecodeError(m.error.kind, m.error.message));
      else if (m.error.type === 'page') call.reject(new PageReadError(m.error.kind, m.error.message));
      else call.reject(new Error(m.error.message));
    });
    // A thread that dies fails its pages with the reason; the next page starts a new one.
    worker.on('error', (e) => this.fail(worker, e));
    worker.on('exit', (code) => this.fail(worker, new Error(`the page thread stopped (exit code ${code})`)));
    return worker;
  }

  private fail(worker: Worker, e: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const call of this.pending.values()) call.reject(e);
    this.pending.clear();
  }

  /** Decodes, cuts and crops a page off the event loop; `judge` (the model the page will be read with) answers the cutter's questions. */
  cut(bytes: Buffer, limits: { maxPixels: number; maxCharacters: number }, judge: Judge): Promise<CutCharacters> {
    this.worker ??= this.start();
    const id = this.next++;
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    const message: ToPageThread = { type: 'page', id, bytes: copy, ...limits };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, judge });
      this.worker!.ref();
      this.worker!.postMessage(message, [copy]);
    }).finally(() => {
      if (this.pending.size === 0) this.worker?.unref();
    }) as Promise<CutCharacters>;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}
