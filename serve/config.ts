/**
 * Service settings from the environment, with the defaults the README states.
 * Every limit is explicit and configurable.
 */
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function int(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min) throw new Error(`${name} must be a number >= ${min}; got '${raw}'`);
  return v;
}

export interface ServiceConfig {
  port: number;
  host: string;
  modelDir: string;
  queueUrl: string;
  maxFileBytes: number;
  maxBatchFiles: number;
  maxRequestBytes: number;
  maxPixels: number;
  /** Dynamic batching window for /predict (ms); 0 turns batching off. */
  batchWindowMs: number;
  maxBatchSize: number;
  taskTtlSeconds: number;
  leaseSeconds: number;
  workerBatchSize: number;
  workerPollMs: number;
  maxAttempts: number;
  /** When set, POST endpoints require it in the X-API-Key header. */
  apiKey: string | null;
  /** Origins allowed to call the API from browsers on other sites ('*' = any); empty = same origin only. */
  corsOrigins: string[];
  /** How often API and workers check whether MODEL points to another artifact (hot reload). */
  modelPollMs: number;
  /** NODE_ENV, reported as `mode` by /health (as the FastAPI version did). */
  mode: string;
}

export function loadConfig(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  const maxFileBytes = int('MAX_FILE_BYTES', 10 * 1024 * 1024, 1);
  return {
    port: int('PORT', 8339),
    host: process.env.HOST ?? '0.0.0.0',
    modelDir: process.env.MODEL ?? path.join(ROOT, 'artifacts', 'latest'),
    queueUrl: process.env.QUEUE_URL ?? 'sqlite:var/tasks.db',
    maxFileBytes,
    maxBatchFiles: int('MAX_BATCH_FILES', 1000, 1),
    maxRequestBytes: int('MAX_REQUEST_BYTES', 200 * 1024 * 1024, 1),
    maxPixels: int('MAX_PIXELS', 40_000_000, 1),
    batchWindowMs: int('BATCH_WINDOW_MS', 2),
    maxBatchSize: int('MAX_BATCH_SIZE', 64, 1),
    taskTtlSeconds: int('TASK_TTL', 24 * 3600, 1),
    leaseSeconds: int('LEASE_SECONDS', 30, 1),
    workerBatchSize: int('WORKER_BATCH_SIZE', 128, 1),
    workerPollMs: int('WORKER_POLL_MS', 50, 1),
    maxAttempts: int('MAX_ATTEMPTS', 3, 1),
    apiKey: process.env.API_KEY ? process.env.API_KEY : null,
    corsOrigins: (process.env.CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    modelPollMs: int('MODEL_POLL_MS', 1000, 50),
    mode: process.env.NODE_ENV || 'production',
    ...overrides,
  };
}

/** What the task store needs from the settings. */
export function storeOptions(config: ServiceConfig): { maxAttempts: number; ttlMs: number } {
  return { maxAttempts: config.maxAttempts, ttlMs: config.taskTtlSeconds * 1000 };
}
