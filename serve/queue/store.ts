/**
 * The task store: where batch tasks, their images and results live between
 * the API (which enqueues) and the workers (which claim, process, complete).
 * Implementations: SQLite (embedded default, serve/queue/sqlite.ts); a Redis
 * one comes with the scale-out issue. The API and worker only see this.
 */

export interface UploadedFile {
  filename: string;
  bytes: Buffer;
}

export type ItemResult =
  | { filename: string; prediction: string; class_id: number; confidence: number }
  | { filename: string; error: string };

export interface TaskView {
  task_id: string;
  status: 'processing' | 'completed' | 'failed';
  progress: { done: number; total: number };
  results: ItemResult[];
  error?: string;
}

/** One image handed to a worker under a lease. */
export interface ClaimedItem {
  taskId: string;
  index: number;
  filename: string;
  bytes: Buffer;
  attempts: number;
}

export interface QueueStats {
  pending: number;
  processing: number;
}

export interface TaskStore {
  /** Stores the task and all its images durably, then returns its id. */
  createTask(files: UploadedFile[]): Promise<string>;
  getTask(taskId: string): Promise<TaskView | null>;
  /**
   * Atomically takes up to `max` pending items (or items whose lease has
   * expired, e.g. after a worker was killed) and leases them to `workerId`.
   */
  claim(workerId: string, max: number, leaseMs: number): Promise<ClaimedItem[]>;
  /** Records results; idempotent: an item already completed keeps its first result. */
  complete(workerId: string, results: { taskId: string; index: number; result: ItemResult }[]): Promise<void>;
  /** Gives leased items back (graceful worker shutdown). */
  release(workerId: string): Promise<void>;
  /** Deletes finished tasks (and their images) older than ttlMs. Returns how many. */
  purge(ttlMs: number): Promise<number>;
  stats(): Promise<QueueStats>;
  /** Throws when the store cannot be used (health check). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The task store is not usable (disk full, read-only, server down): HTTP 503. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** Opens the store named by QUEUE_URL. */
export async function openStore(url: string, options: { maxAttempts: number }): Promise<TaskStore> {
  if (url.startsWith('sqlite:')) {
    // Loaded on demand so a deployment on another store never needs the native addon.
    const { SqliteTaskStore } = require('./sqlite') as typeof import('./sqlite');
    return new SqliteTaskStore(url.slice('sqlite:'.length), options);
  }
  throw new Error(`unsupported QUEUE_URL '${url}': use sqlite:PATH`);
}
