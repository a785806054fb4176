/**
 * The worker process (`make worker`): claims queued images under a lease,
 * runs them through the same preprocessing and model as /predict in batches,
 * and writes results idempotently. Several workers can share one queue. On
 * SIGINT/SIGTERM it finishes the batch in hand, gives back anything still
 * leased, and closes the store. A worker killed outright leaves leases that
 * expire (LEASE_SECONDS) and are taken over by another worker.
 */
import { hostname } from 'node:os';
import pino from 'pino';
import { PIXELS } from '../pipeline/core/dataset';
import type { K49Classifier } from '../pipeline/core/inference';
import { decodeForModel } from '../pipeline/core/preprocess';
import { classById } from '../pipeline/core/classes';
import { loadConfig, storeOptions, type ServiceConfig } from './config';
import { ModelHolder } from './models';
import { openStore } from './queue/open';
import type { ClaimedItem, ItemResult, TaskStore } from './queue/store';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * After SIGINT/SIGTERM, how long the worker waits for the batch in hand and
 * the store (e.g. a Redis that is down) before exiting anyway: its leases
 * then expire and another worker takes the images, so nothing is lost.
 */
const SHUTDOWN_GRACE_MS = 10_000;

/** Decodes and classifies one claimed batch; undecodable files get a per-file error. */
export async function processBatch(items: ClaimedItem[], classifier: K49Classifier, config: ServiceConfig) {
  const decoded = await Promise.all(
    items.map(async (item) => {
      try {
        return { item, image: await decodeForModel(item.bytes, { maxPixels: config.maxPixels }) };
      } catch (e) {
        return { item, error: (e as Error).message };
      }
    }),
  );
  const good = decoded.filter((d): d is { item: ClaimedItem; image: Uint8Array } => 'image' in d);
  const images = new Uint8Array(good.length * PIXELS);
  good.forEach((d, i) => images.set(d.image, i * PIXELS));
  const { classes, confidences } = classifier.classify(images);
  const byItem = new Map<ClaimedItem, ItemResult>();
  good.forEach((d, i) => {
    byItem.set(d.item, { filename: d.item.filename, prediction: classById(classes[i]!).char, class_id: classes[i]!, confidence: confidences[i]!, model_version: classifier.info.version });
  });
  for (const d of decoded) if ('error' in d) byItem.set(d.item, { filename: d.item.filename, error: d.error! });
  return items.map((item) => ({ taskId: item.taskId, index: item.index, result: byItem.get(item)! }));
}

export async function runWorker(config: ServiceConfig = loadConfig()): Promise<void> {
  const workerId = `${hostname()}:${process.pid}`;
  const logger = pino({ level: config.logLevel, base: { proc: 'worker', worker: workerId } });
  const models = new ModelHolder(config.modelDir, logger, () => undefined);
  await models.reload();
  const { served, reason } = models.status();
  if (!served) throw new Error(reason ?? 'no model');
  // A new artifact behind MODEL, or SIGHUP, is picked up between batches; each batch runs on one model.
  models.watch(config.modelPollMs);
  process.on('SIGHUP', () => void models.reload());
  const store: TaskStore = await openStore(config.queueUrl, storeOptions(config));
  logger.info({ model: served.classifier.info.version, queue: config.queueUrl }, 'worker ready');

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
  while (!stopping) {
    try {
      if (Date.now() - lastPurge > 60_000) {
        const purged = await store.purge(config.taskTtlSeconds * 1000);
        if (purged > 0) logger.info({ purged }, 'purged finished tasks older than TASK_TTL');
        lastPurge = Date.now();
      }
      const items = await store.claim(workerId, config.workerBatchSize, config.leaseSeconds * 1000);
      if (items.length === 0) {
        await sleep(config.workerPollMs);
        continue;
      }
      const started = performance.now();
      const results = await models.use(({ classifier }) => processBatch(items, classifier, config));
      await store.complete(workerId, results);
      logger.info({ images: items.length, ms: Number((performance.now() - started).toFixed(1)) }, 'batch done');
    } catch (e) {
      logger.error({ err: (e as Error).message }, 'worker loop error; retrying');
      await sleep(Math.max(500, config.workerPollMs));
    }
  }
  models.stop();
  await store.release(workerId).catch(() => {});
  await store.close();
  logger.info('worker stopped');
}
