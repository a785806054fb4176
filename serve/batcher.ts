/**
 * Dynamic batching for /predict: requests arriving within a short window
 * (BATCH_WINDOW_MS, about 2 ms) are run as one model call of up to
 * MAX_BATCH_SIZE images. A lone request waits at most the window; a full
 * batch runs at once. With a window of 0 every request runs alone.
 */
import { PIXELS } from '../pipeline/dataset';

type Run = (images: Uint8Array) => Float32Array;

interface Pending {
  image: Uint8Array;
  resolve: (probs: Float32Array) => void;
  reject: (e: Error) => void;
}

export class DynamicBatcher {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly run: Run,
    private readonly classes: number,
    private readonly windowMs: number,
    private readonly maxBatch: number,
  ) {}

  /** Probabilities for one 28x28 image. */
  submit(image: Uint8Array): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      this.queue.push({ image, resolve, reject });
      if (this.windowMs <= 0 || this.queue.length >= this.maxBatch) {
        this.flush();
      } else if (!this.timer) {
        this.timer = setTimeout(() => this.flush(), this.windowMs);
      }
    });
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const images = new Uint8Array(batch.length * PIXELS);
      batch.forEach((p, i) => images.set(p.image, i * PIXELS));
      try {
        const probs = this.run(images);
        batch.forEach((p, i) => p.resolve(probs.slice(i * this.classes, (i + 1) * this.classes)));
      } catch (e) {
        batch.forEach((p) => p.reject(e as Error));
      }
    }
  }
}
