/**
 * The task store: where batch tasks, their images and results live between
 * the API (which enqueues) and the workers (which claim, process, complete).
 * Implementations: SQLite (embedded default, serve/queue/sqlite.ts) and
 * Redis through BullMQ (several hosts, serve/queue/redis.ts), chosen by
 * QUEUE_URL (serve/queue/open.ts). The API and worker only see this interface.
 */
import type { TaskResponse, TaskResult } from '../schemas';

export interface UploadedFile {
  filename: string;
  bytes: Buffer;
}

/** One file's result, as GET /tasks/{id} shows it. */
export type ItemResult = TaskResult;

/** A user's correction: the 28x28 image the model saw, the right class, and what the model had answered. */
export interface FeedbackRecord {
  id: string;
  /** ms since the epoch */
  created_at: number;
  /** K49 28x28, 784 bytes, after the service's preprocessing */
  image: Uint8Array;
  /** SHA-1 of the 784 bytes: the same image corrected twice is one training example */
  image_sha1: string;
  class_id: number;
  model_version: string;
  model_class_id: number;
  model_confidence: number;
  /** Set when the correction is of a batch result. */
  task_id: string | null;
  filename: string | null;
  /**
   * Set when the character was read on a page (POST /pages, the Page tab): the page file's SHA-256 and the
   * character's box [x, y, w, h] on it, so that the export can check it by place against the page scan.
   */
  page_sha256: string | null;
  page_box: PageBox | null;
}
/** A character's box on its page: [x, y, w, h] in pixels of the page as sent (EXIF orientation applied). */
export type PageBox = [number, number, number, number];
export type NewFeedback = Omit<FeedbackRecord, 'id' | 'created_at'>;

/** A task as GET /tasks/{id} shows it. */
export type TaskView = TaskResponse;

/** A task's status as stored: 'uploading' until its TaskIngest finishes, which clients (who cannot know its id yet) would see as 'processing'. */
export type StoredStatus = TaskView['status'] | 'uploading';
export const viewStatus = (status: StoredStatus): TaskView['status'] => (status === 'uploading' ? 'processing' : status);

/** A task's fields without its results, as a store reads them. */
export type TaskHead = Omit<TaskView, 'results'>;

/**
 * The task view as JSON text, its results spliced in as the stored JSON of each result: a completed batch of
 * thousands of files is answered without parsing and re-serialising every result.
 */
export function taskViewJson(head: TaskHead, storedResults: (string | null | undefined)[]): string {
  const results = `[${storedResults.map((r) => r ?? '{}').join(',')}]`;
  return `${JSON.stringify(head).slice(0, -1)},"results":${results}}`;
}

export const parseTaskView = (json: string | null): TaskView | null => (json === null ? null : (JSON.parse(json) as TaskView));

/** A stored task: its id and one id per file, in upload order (each resolvable on its own). */
export interface CreatedTask {
  taskId: string;
  fileIds: string[];
}

/** One file of a task, looked up by its own id: the task's status and the file's result once it has one. */
export interface FileView {
  taskId: string;
  taskStatus: TaskView['status'];
  result: ItemResult | null;
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
  /** Images answered since the store was created, by outcome (all workers). */
  answered: { ok: number; error: number };
}

/**
 * A task whose files are stored while its upload is still arriving
 * (POST /batch_predict): each add() is durable and claimable at once, so
 * workers start on the first files before the last one has arrived. Until
 * finish() the task cannot complete; abort() deletes it with everything
 * stored or answered of it.
 */
export interface TaskIngest {
  readonly taskId: string;
  /** Stores the next files, in upload order; returns their per-file ids (random UUIDs, like task ids). */
  add(files: UploadedFile[]): Promise<string[]>;
  /** Every file is stored: the task completes once each is answered (at once if they already are). */
  finish(): Promise<void>;
  abort(): Promise<void>;
}

export interface TaskStore {
  /** A new task, filled through its TaskIngest (no client learns its id before finish()). */
  beginTask(): Promise<TaskIngest>;
  getTask(taskId: string): Promise<TaskView | null>;
  /** The same view as JSON text (what GET /tasks/{id} sends). */
  getTaskJson(taskId: string): Promise<string | null>;
  /** One file of a task by its per-file id; null when unknown or purged with its task. */
  getFile(fileId: string): Promise<FileView | null>;
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
  /** Stores a correction (kept until deleted by an operator: never purged with tasks). */
  addFeedback(feedback: NewFeedback): Promise<FeedbackRecord>;
  /** Every correction, oldest first. */
  listFeedback(): Promise<FeedbackRecord[]>;
  /** Throws when the store cannot be used (health check). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Stores a task whose files are all at hand, as one upload; nothing of it is left behind if that fails. */
export async function createTask(store: TaskStore, files: UploadedFile[]): Promise<CreatedTask> {
  const ingest = await store.beginTask();
  try {
    const fileIds = await ingest.add(files);
    await ingest.finish();
    return { taskId: ingest.taskId, fileIds };
  } catch (e) {
    await ingest.abort().catch(() => {});
    throw e;
  }
}

/** The task store is not usable (disk full, read-only, server down): HTTP 503. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

export interface StoreOptions {
  /** An image whose worker died this many times gets a per-file error instead of another try. */
  maxAttempts: number;
  /** Finished tasks are kept this long (TASK_TTL). */
  ttlMs: number;
}
