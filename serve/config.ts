/**
 * The service's settings, read from the environment through one zod schema
 * with the defaults the README states (a test checks the README's table
 * against it). A wrong value is an error naming the variable, at start-up.
 */
import { z } from 'zod';
import { INFERENCE_PROFILES, type InferenceProfile } from '../pipeline/core/backend';
import { parseOrThrow } from '../pipeline/core/config';
import { DEFAULT_QUEUE_URL, LATEST } from '../pipeline/core/paths';

/** An unset or empty variable takes the default. */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const number = (fallback: number, min = 0) =>
  z.preprocess(unsetIfEmpty, z.string().regex(/^\s*-?\d+(\.\d+)?\s*$/, 'expected a number').transform(Number).pipe(z.number().min(min)).default(fallback));
const profile = (fallback: InferenceProfile) => z.preprocess(unsetIfEmpty, z.enum(INFERENCE_PROFILES as [InferenceProfile, ...InferenceProfile[]]).default(fallback));
const text = (fallback: string) => z.preprocess(unsetIfEmpty, z.string().default(fallback));

/** Every variable the API and the worker read, with its default. */
export const ServiceEnv = z.object({
  PORT: number(8339),
  HOST: text('0.0.0.0'),
  MODEL: text(LATEST),
  MODEL_POLL_MS: number(1000, 50),
  QUEUE_URL: text(DEFAULT_QUEUE_URL),
  MAX_FILE_BYTES: number(10 * 1024 * 1024, 1),
  MAX_BATCH_FILES: number(1000, 1),
  MAX_REQUEST_BYTES: number(200 * 1024 * 1024, 1),
  MAX_PIXELS: number(40_000_000, 1),
  NODE_ENV: text('production'),
  BATCH_WINDOW_MS: number(2),
  MAX_BATCH_SIZE: number(64, 1),
  TASK_TTL: number(24 * 3600, 1),
  LEASE_SECONDS: number(30, 1),
  WORKER_BATCH_SIZE: number(1024, 1),
  WORKER_POLL_MS: number(50, 1),
  MAX_ATTEMPTS: number(3, 1),
  LOG_LEVEL: z.preprocess(unsetIfEmpty, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  API_KEY: z.preprocess(unsetIfEmpty, z.string().optional()),
  CORS_ORIGINS: text(''),
  TRUST_PROXY: z.preprocess(unsetIfEmpty, z.enum(['0', '1']).default('0')),
  API_INFERENCE: profile('latency'),
  WORKER_INFERENCE: profile('throughput'),
});

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
  logLevel: z.infer<typeof ServiceEnv>['LOG_LEVEL'];
  /** Behind a reverse proxy: client addresses from X-Forwarded-For. */
  trustProxy: boolean;
  /** How TensorFlow runs the API's model calls (one image or a few: 'latency') and the worker's (batches: 'throughput'); see pipeline/core/backend.ts. */
  apiInference: InferenceProfile;
  workerInference: InferenceProfile;
}

export function loadConfig(overrides: Partial<ServiceConfig> = {}, env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const e = parseOrThrow(ServiceEnv, env, 'service settings (environment)');
  return {
    port: e.PORT,
    host: e.HOST,
    modelDir: e.MODEL,
    queueUrl: e.QUEUE_URL,
    maxFileBytes: e.MAX_FILE_BYTES,
    maxBatchFiles: e.MAX_BATCH_FILES,
    maxRequestBytes: e.MAX_REQUEST_BYTES,
    maxPixels: e.MAX_PIXELS,
    batchWindowMs: e.BATCH_WINDOW_MS,
    maxBatchSize: e.MAX_BATCH_SIZE,
    taskTtlSeconds: e.TASK_TTL,
    leaseSeconds: e.LEASE_SECONDS,
    workerBatchSize: e.WORKER_BATCH_SIZE,
    workerPollMs: e.WORKER_POLL_MS,
    maxAttempts: e.MAX_ATTEMPTS,
    apiKey: e.API_KEY ?? null,
    corsOrigins: e.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean),
    modelPollMs: e.MODEL_POLL_MS,
    mode: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY === '1',
    apiInference: e.API_INFERENCE,
    workerInference: e.WORKER_INFERENCE,
    ...overrides,
  };
}

/** What the task store needs from the settings. */
export function storeOptions(config: ServiceConfig): { maxAttempts: number; ttlMs: number } {
  return { maxAttempts: config.maxAttempts, ttlMs: config.taskTtlSeconds * 1000 };
}
