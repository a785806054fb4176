/**
 * The worker process (`make worker`): claims queued images under a lease,
 * runs them through the same preprocessing and model as /predict in batches,
 * and writes results idempotently; the next claim is fetched and decoded,
 * and the last results written, while the model (on its own thread) runs
 * the current batch. Several workers can share one queue. On
 * SIGINT/SIGTERM it finishes the batch in hand, gives back anything still
 * leased, and closes the store. A worker killed outright leaves leases that
 * expire (LEASE_SECONDS) and are taken over by another worker.
 */
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import pino from 'pino';
import { useInferenceProfile } from '../../pipeline/core/backend';
import { classById } from '../../pipeline/core/classes';
import { PIXELS } from '../../pipeline/core/dataset';
import { bestClasses } from '../../pipeline/core/inference';
import { decodeForModel } from '../../pipeline/core/preprocess';
import { ImageDecodeError } from '../../pipeline/core/preprocess/decode';
import { loadConfig, type ServiceConfig, storeOptions } from '../config';
import type { ThreadedClassifier } from '../model/classifier';
import { ModelHolder } from '../model/holder';
import { openStore } from '../queue/open';
import type { ClaimedItem, ItemResult, TaskStore } from '../queue/store';
import type { FileErrorCode } from '../schemas';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * After SIGINT/SIGTERM, how long the worker waits for the batch in hand and
 * the store (e.g. a Redis that is down) before exiting anyway: its leases
 * then expire and another worker takes the images, so nothing is lost.
 */
const SHUTDOWN_GRACE_MS = 10_000;

/** A claimed batch, decoded: the images for the model (in `good` order) and the files that could not be decoded. */
interface DecodedBatch {
  items: ClaimedItem[];
  good: ClaimedItem[];
  images: Uint8Array;
  errors: Map<ClaimedItem, { error: string; error_code: FileErrorCode }>;
}

/** Decodes one claimed batch through the one preprocessing; undecodable files get a per-file error. */
async function decodeBatch(items: ClaimedItem[], config: ServiceConfig): Promise<DecodedBatch> {
  const errors = new Map<ClaimedItem, { error: string; error_code: FileErrorCode }>();
  const decoded = await Promise.all(
    items.map(async (item) => {
      try {
        return { item, image: await decodeForModel(item.bytes, { maxPixels: config.maxPixels }) };
      } catch (e) {
        errors.set(item, { error: (e as Error).message, error_code: e instanceof ImageDecodeError ? e.kind : 'failed' });
        return null;
      }
    }),
  );
  const good = decoded.filter((d): d is { item: ClaimedItem; image: Uint8Array } => d !== null);
  const images = new Uint8Array(good.length * PIXELS);
  good.forEach((d, i) => {
    images.set(d.image, i * PIXELS);
  });
  return { items, good: good.map((d) => d.item), images, errors };
}

/** The model's answer (or the decoding error) for each file of a decoded batch, in claim order. */
async function classifyBatch(batch: DecodedBatch, classifier: ThreadedClassifier) {
  const byItem = new Map<ClaimedItem, ItemResult>();
  if (batch.good.length > 0) {
    const { classes, confidences } = bestClasses(await classifier.probabilities(batch.images));
    batch.good.forEach((item, i) => {
      byItem.set(item, {
        filename: item.filename,
        prediction: classById(classes[i]!).char,
        class_id: classes[i]!,
        confidence: confidences[i]!,
        model_version: classifier.info.version,
      });
    });
  }
  for (const [item, error] of batch.errors) byItem.set(item, { filename: item.filename, ...error });
  return batch.items.map((item) => ({ taskId: item.taskId, index: item.index, result: byItem.get(item)! }));
}

/** This process's OS thread ids (Linux's /proc; none elsewhere). */
function threadIds(): string[] {
  try {
    return readdirSync('/proc/self/task');
  } catch {
    return [];
  }
}

export async function runWorker(config: ServiceConfig = loadConfig()): Promise<void> {
  const workerId = `${hostname()}:${process.pid}`;
  const logger = pino({ level: config.logLevel, base: { proc: 'worker', worker: workerId } });
  useInferenceProfile(config.workerInference);
  const runtimeThreads = new Set(threadIds());
  const models = new ModelHolder(config.modelDir, logger, () => undefined, [config.workerBatchSize]);
  await models.reload();
  // The threads that loading the model started (the inference thread, ONNX Runtime's pool): named in the ready line
  // so that a per-thread CPU profile (`top -H`, make bench's CPU table) tells the model's share from the event loop's
  // and V8's garbage collector's.
  const modelThreads = threadIds()
    .filter((t) => !runtimeThreads.has(t))
    .map(Number);
  const { served, reason } = models.status();
  if (!served) throw new Error(reason ?? 'no model');
  // A new artifact behind MODEL, or SIGHUP, is picked up between batches; each batch runs on one model.
  models.watch(config.modelPollMs);
  process.on('SIGHUP', () => void models.reload());
  const store: TaskStore = await openStore(config.queueUrl, storeOptions(config));
  logger.info({ model: served.classifier.info.version, queue: config.queueUrl, model_threads: modelThreads }, 'worker ready');

  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      logger.info({ signal: sig }, 'stopping after the current batch');
      stopping = true;
      setTimeout(() => {
        logger.warn({ grace_ms: SHUTDOWN_GRACE_MS }, 'the task store did not answer in time; exiting, leases in hand will expire and be taken over');
        process.exit(0);
      }, SHUTDOWN_GRACE_MS).unref();
    });
  }
  let lastPurge = 0;
  // Three stages overlap: while the model (on its own thread) runs one batch, the previous batch's results are
  // written and the next batch is claimed and decoded; the next model call starts as soon as the model is free.
  // Neither promise rejects: a failed batch is logged and its leases expire, so another attempt takes its images.
  let modelFree: Promise<void> = Promise.resolve();
  // Result writes run in batch order; `writing` is the latest batch's, `wroteBefore` the one before it.
  let writing: Promise<void> = Promise.resolve();
  let wroteBefore: Promise<void> = Promise.resolve();
  while (!stopping) {
    try {
      if (Date.now() - lastPurge > 60_000) {
        const purged = await store.purge(config.taskTtlSeconds * 1000);
        if (purged > 0) logger.info({ purged }, 'purged finished tasks older than TASK_TTL');
        lastPurge = Date.now();
      }
      // At most the latest batch waits for its results to be written while the next one is claimed.
      await wroteBefore;
      const items = await store.claim(workerId, config.workerBatchSize, config.leaseSeconds * 1000);
      if (items.length === 0) {
        await writing;
        await sleep(config.workerPollMs);
        continue;
      }
      const started = performance.now();
      const decoded = await decodeBatch(items, config);
      await modelFree;
      const classified = models.use(({ classifier }) => classifyBatch(decoded, classifier));
      modelFree = classified.then(
        () => undefined,
        () => undefined,
      );
      wroteBefore = writing;
      writing = Promise.all([writing, classified])
        .then(([, results]) => store.complete(workerId, results))
        .then(
          () => logger.info({ images: items.length, ms: Number((performance.now() - started).toFixed(1)) }, 'batch done'),
          (e: Error) => logger.error({ err: e.message, images: items.length }, 'batch failed; its leases expire and another attempt takes it'),
        );
    } catch (e) {
      logger.error({ err: (e as Error).message }, 'worker loop error; retrying');
      await sleep(Math.max(500, config.workerPollMs));
    }
  }
  await writing;
  models.stop();
  await store.release(workerId).catch(() => {});
  await store.close();
  logger.info('worker stopped');
}
