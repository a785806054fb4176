/**
 * Prometheus metrics for GET /metrics (prom-client): HTTP requests by route
 * and status with latency histograms, model inference time and the dynamic
 * batcher's batch sizes, the queue's depth and the images it has answered
 * (read from the task store at scrape time, so they count every worker on
 * every host), and the process's own CPU, memory and event-loop lag. The
 * benchmark and the soak run read these same numbers.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { TaskStore } from '../queue/store';

export class ServiceMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'k49_http_requests_total',
    help: 'HTTP requests by route (the matched pattern), method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'k49_http_request_duration_seconds',
    help: 'HTTP request latency by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });

  readonly inferenceSeconds = new Histogram({
    name: 'k49_inference_seconds',
    help: 'Model time per /predict model call (one dynamic batch)',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'k49_predict_batch_size',
    help: 'Images per /predict model call (dynamic batching)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'k49_rate_limited_total',
    help: 'POST requests refused with 429 by the per-client rate limit (RATE_LIMIT)',
    registers: [this.registry],
  });

  readonly uploadsDeferred = new Counter({
    name: 'k49_uploads_deferred_total',
    help: 'Uploads refused with 503 before their body was read: the bytes being received at once would pass MAX_RECEIVING_BYTES',
    registers: [this.registry],
  });

  readonly receivingBytes = new Gauge({
    name: 'k49_receiving_bytes',
    help: 'Bytes of uploads being received now (their Content-Length), counted against MAX_RECEIVING_BYTES',
    registers: [this.registry],
  });

  readonly imagesAccepted = new Counter({
    name: 'k49_batch_images_accepted_total',
    help: 'Images accepted by POST /batch_predict (answered 202)',
    registers: [this.registry],
  });

  readonly feedback = new Counter({
    name: 'k49_feedback_total',
    help: "Corrections received by POST /feedback, by whether the model's answer had been right",
    labelNames: ['model_was'] as const,
    registers: [this.registry],
  });

  readonly modelReloads = new Counter({
    name: 'k49_model_reloads_total',
    help: 'Hot reloads of the served model by outcome (swapped: a new model serves; refused: it failed to load, the old one serves)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(store: () => TaskStore | null) {
    collectDefaultMetrics({ register: this.registry, prefix: 'k49_' });
    // One store read per scrape feeds the three gauges below (their collect runs at scrape time).
    let reading: Promise<void> | null = null;
    const refresh = () =>
      (reading ??= (async () => {
        try {
          const s = store();
          if (!s) throw new Error('no task store');
          const stats = await s.stats();
          queueDepth.set({ state: 'pending' }, stats.pending);
          queueDepth.set({ state: 'processing' }, stats.processing);
          answered.set({ outcome: 'ok' }, stats.answered.ok);
          answered.set({ outcome: 'error' }, stats.answered.error);
          up.set(1);
        } catch {
          up.set(0);
        }
      })().finally(() => (reading = null)));
    const queueDepth = new Gauge({
      name: 'k49_queue_images',
      help: 'Images in the task queue by state',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect: refresh,
    });
    const answered = new Gauge({
      name: 'k49_queue_images_answered',
      help: 'Images answered so far by all workers, by outcome (ok: a prediction; error: a per-file error), as counted by the task store',
      labelNames: ['outcome'] as const,
      registers: [this.registry],
      collect: refresh,
    });
    const up = new Gauge({ name: 'k49_queue_up', help: '1 when the task store answers, 0 when it does not', registers: [this.registry], collect: refresh });
  }

  /** Times one model call of `size` images. */
  async timeInference<T>(size: number, run: () => Promise<T>): Promise<T> {
    const end = this.inferenceSeconds.startTimer();
    try {
      return await run();
    } finally {
      end();
      this.batchSize.observe(size);
    }
  }
}
