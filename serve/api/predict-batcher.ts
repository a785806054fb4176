/**
 * Dynamic batching for /predict: requests arriving within a short window
 * (BATCH_WINDOW_MS) are run as one model call of up to
 * MAX_BATCH_SIZE images. Each request announces itself before it decodes its
 * image, so the batcher knows whether more images are on their way: when
 * none is, the batch runs at once (a lone request never waits for the
 * window); a full batch runs at once too. With a window of 0 every request
 * runs alone.
 *
 * One model call runs at a time (the model has one thread); images arriving
 * meanwhile form the next batch, which runs as soon as the current one is
 * done.
 */
import { PIXELS } from '../../pipeline/core/dataset';

type Run = (images: Uint8Array) => Promise<Float32Array>;

interface Pending {
  image: Uint8Array;
  resolve: (probs: Float32Array) => void;
  reject: (e: Error) => void;
}

/** One announced request: it either submits its image or cancels (e.g. the upload was not an image). */
export interface BatchTicket {
  submit(image: Uint8Array): Promise<Float32Array>;
  cancel(): void;
}

export class DynamicBatcher {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** A model call is in progress. */
  private running = false;
  /** Announced requests that have not submitted yet. */
  private coming = 0;

  constructor(
    private readonly run: Run,
    private readonly classes: number,
    private readonly windowMs: number,
    private readonly maxBatch: number,
  ) {}

  /** Call when a request starts preparing its image; then submit it (probabilities for one 28x28 image) or cancel. */
  announce(): BatchTicket {
    this.coming++;
    let open = true;
    const leave = () => {
      if (!open) return false;
      open = false;
      this.coming--;
      return true;
    };
    return {
      submit: (image) => {
        leave();
        return this.enqueue(image);
      },
      cancel: () => {
        // The others may have been waiting for this one.
        if (leave() && this.queue.length > 0 && this.coming === 0) this.flush();
      },
    };
  }

  private enqueue(image: Uint8Array): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ image, resolve, reject });
      if (this.windowMs <= 0 || this.queue.length >= this.maxBatch || this.coming === 0) {
        this.flush();
      } else if (!this.timer) {
        this.timer = setTimeout(() => this.flush(), this.windowMs);
      }
    });
  }

  /** Runs the queued images (up to a batch) unless a call is in progress: its end runs them. */
  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.windowMs <= 0 ? 1 : this.maxBatch);
    const images = new Uint8Array(batch.length * PIXELS);
    batch.forEach((p, i) => {
      images.set(p.image, i * PIXELS);
    });
    this.running = true;
    this.run(images)
      .then(
        (probs) => {
          batch.forEach((p, i) => {
            p.resolve(probs.slice(i * this.classes, (i + 1) * this.classes));
          });
        },
        (e: Error) => {
          for (const p of batch) p.reject(e);
        },
      )
      .finally(() => {
        this.running = false;
        this.flush();
      });
  }
}
