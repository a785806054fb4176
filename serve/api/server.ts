/**
 * The API process (`make serve`): loads the model once (warmed up), opens the
 * task store, serves HTTP. On SIGINT/SIGTERM it stops accepting, lets
 * in-flight requests finish, and closes the database.
 */
import type { Server } from 'node:http';
import pino from 'pino';
import { useInferenceProfile } from '../../pipeline/core/backend';
import { NUM_CLASSES } from '../../pipeline/core/classes';
import { PIXELS } from '../../pipeline/core/dataset';
import { loadConfig, type ServiceConfig, storeOptions } from '../config';
import { ModelHolder } from '../model/holder';
import { openStore } from '../queue/open';
import type { TaskStore } from '../queue/store';
import { createApp } from './app';
import { ApiError } from './errors';
import { makeUpload } from './multipart';
import { PageThread } from './page-thread';
import { DynamicBatcher } from './predict-batcher';
import { ServiceMetrics } from './prometheus';
import type { Services } from './routes/common';

/** How often the API retries opening a task store it could not open. */
const STORE_RETRY_MS = 2000;

export interface RunningServer {
  server: Server;
  services: Services;
  close(): Promise<void>;
}

export async function startServer(config: ServiceConfig = loadConfig()): Promise<RunningServer> {
  const logger = pino({ level: config.logLevel, base: { proc: 'api' } });
  let store: TaskStore | null = null;
  let storeReason: string | undefined;
  const metrics = new ServiceMetrics(() => store);
  useInferenceProfile(config.apiInference);
  const models = new ModelHolder(
    config.modelDir,
    logger,
    (classifier) =>
      new DynamicBatcher(
        (images) => metrics.timeInference(images.length / PIXELS, () => classifier.probabilities(images)),
        NUM_CLASSES,
        config.batchWindowMs,
        config.maxBatchSize,
      ),
  );
  models.onReload = (outcome) => metrics.modelReloads.inc({ outcome });
  await models.reload();
  // A new artifact behind MODEL (make train evaluate moves artifacts/latest), or SIGHUP, is served without a restart.
  models.watch(config.modelPollMs);
  const onHangup = () => void models.reload();
  process.on('SIGHUP', onHangup);
  const tryOpenStore = async () => {
    try {
      store = await openStore(config.queueUrl, storeOptions(config));
      if (storeReason) logger.info('task store opened');
      storeReason = undefined;
    } catch (e) {
      storeReason = `task store unavailable: ${(e as Error).message}`;
      logger.error({ reason: storeReason }, 'task store not opened; retrying every few seconds');
    }
  };
  await tryOpenStore();
  // A store that cannot be opened yet (read-only or missing volume, database not up) is retried, so the API recovers by itself.
  // One attempt at a time: the next is scheduled only after the previous one has finished.
  let storeRetry: NodeJS.Timeout | undefined;
  const retryStore = () => {
    storeRetry = setTimeout(() => void tryOpenStore().then(() => store || retryStore()), STORE_RETRY_MS);
    storeRetry.unref();
  };
  if (!store) retryStore();
  const services: Services = {
    config,
    metrics,
    upload: makeUpload(config),
    models,
    pages: new PageThread(),
    store: () => {
      if (!store) throw new ApiError(503, `${storeReason}`);
      return store;
    },
    storeStatus: () => ({ store, reason: storeReason }),
  };

  const app = createApp(services, logger);
  const server = app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  server.keepAliveTimeout = 65_000;
  logger.info({ port: config.port, batch_window_ms: config.batchWindowMs, queue: config.queueUrl }, 'listening');

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      logger.info('shutting down: no new connections, finishing in-flight requests');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      clearTimeout(storeRetry);
      models.stop();
      await services.pages.close();
      process.off('SIGHUP', onHangup);
      await store?.close();
      logger.info('stopped');
    })());
  return { server, services, close };
}
