/**
 * The service's settings, read from the environment. Each setting is written
 * once, in SETTINGS: its name in the code, its variable, and a zod schema with
 * the default the README states (a test checks the README's table against
 * it). ServiceConfig is derived from that table. A wrong value is an error
 * naming the variable, at start-up.
 */
import { z } from 'zod';
import { INFERENCE_PROFILES, type InferenceProfile } from '../pipeline/core/backend';
import { parseOrThrow } from '../pipeline/core/config';
import { DEFAULT_QUEUE_URL, LATEST } from '../pipeline/core/paths';

/** An unset or empty variable takes the default. */
const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const number = (fallback: number, min = 0) =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^\s*-?\d+(\.\d+)?\s*$/, 'expected a number')
      .transform(Number)
      .pipe(z.number().min(min))
      .default(fallback),
  );
const profile = (fallback: InferenceProfile) =>
  z.preprocess(unsetIfEmpty, z.enum(INFERENCE_PROFILES as [InferenceProfile, ...InferenceProfile[]]).default(fallback));
const text = (fallback: string) => z.preprocess(unsetIfEmpty, z.string().default(fallback));
const setting = <S extends z.ZodType>(variable: string, schema: S) => ({ variable, schema });

/** Every setting of the API and the worker: name in the code -> its environment variable and schema (with the default). */
const SETTINGS = {
  port: setting('PORT', number(8339)),
  host: setting('HOST', text('0.0.0.0')),
  /** The artifact served; watched for hot reload. */
  modelDir: setting('MODEL', text(LATEST)),
  /** How often API and workers check whether MODEL points to another artifact (hot reload). */
  modelPollMs: setting('MODEL_POLL_MS', number(1000, 50)),
  queueUrl: setting('QUEUE_URL', text(DEFAULT_QUEUE_URL)),
  maxFileBytes: setting('MAX_FILE_BYTES', number(10 * 1024 * 1024, 1)),
  maxBatchFiles: setting('MAX_BATCH_FILES', number(1000, 1)),
  maxRequestBytes: setting('MAX_REQUEST_BYTES', number(200 * 1024 * 1024, 1)),
  maxPixels: setting('MAX_PIXELS', number(40_000_000, 1)),
  /** Bytes being received across all uploads at once (serve/api/admission.ts); beyond it, 503 with Retry-After. */
  maxReceivingBytes: setting('MAX_RECEIVING_BYTES', number(256 * 1024 * 1024, 1)),
  /** POST requests per second per client (0: no limit); bursts of RATE_LIMIT_BURST. */
  rateLimit: setting('RATE_LIMIT', number(0)),
  rateLimitBurst: setting('RATE_LIMIT_BURST', number(20, 1)),
  /** Characters a page read by POST /pages may hold (a page over it is refused with 413). */
  maxPageCharacters: setting('MAX_PAGE_CHARACTERS', number(1000, 1)),
  /** NODE_ENV, reported as `mode` by /health (as the FastAPI version did). */
  mode: setting('NODE_ENV', text('production')),
  /** Dynamic batching window for /predict (ms); 0 turns batching off. */
  batchWindowMs: setting('BATCH_WINDOW_MS', number(2)),
  maxBatchSize: setting('MAX_BATCH_SIZE', number(64, 1)),
  taskTtlSeconds: setting('TASK_TTL', number(24 * 3600, 1)),
  leaseSeconds: setting('LEASE_SECONDS', number(30, 1)),
  workerBatchSize: setting('WORKER_BATCH_SIZE', number(1024, 1)),
  workerPollMs: setting('WORKER_POLL_MS', number(50, 1)),
  maxAttempts: setting('MAX_ATTEMPTS', number(3, 1)),
  logLevel: setting('LOG_LEVEL', z.preprocess(unsetIfEmpty, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))),
  /** When set, POST endpoints require it in the X-API-Key header. */
  apiKey: setting(
    'API_KEY',
    z.preprocess(unsetIfEmpty, z.string().optional()).transform((v) => v ?? null),
  ),
  /** Origins allowed to call the API from browsers on other sites ('*' = any); empty = same origin only. */
  corsOrigins: setting(
    'CORS_ORIGINS',
    text('').transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  ),
  /** Behind a reverse proxy: client addresses from X-Forwarded-For. */
  trustProxy: setting(
    'TRUST_PROXY',
    z.preprocess(unsetIfEmpty, z.enum(['0', '1']).default('0')).transform((v) => v === '1'),
  ),
  /** How ONNX Runtime runs the API's model calls (one image or a few: 'latency') and the worker's (batches: 'throughput'); see pipeline/core/backend.ts. */
  apiInference: setting('API_INFERENCE', profile('latency')),
  workerInference: setting('WORKER_INFERENCE', profile('throughput')),
};

type Settings = typeof SETTINGS;
export type ServiceConfig = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

/** The environment variables the service reads, as one object schema (variable -> schema). */
export const ServiceEnv = z.object(Object.fromEntries(Object.values(SETTINGS).map((s) => [s.variable, s.schema])));

export function loadConfig(overrides: Partial<ServiceConfig> = {}, env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const parsed = parseOrThrow(ServiceEnv, env, 'service settings (environment)') as Record<string, unknown>;
  const config = Object.fromEntries(Object.entries(SETTINGS).map(([key, s]) => [key, parsed[s.variable]])) as ServiceConfig;
  return { ...config, ...overrides };
}

/** What the task store needs from the settings. */
export function storeOptions(config: ServiceConfig): { maxAttempts: number; ttlMs: number } {
  return { maxAttempts: config.maxAttempts, ttlMs: config.taskTtlSeconds * 1000 };
}
