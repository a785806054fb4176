/**
 * A batch upload stored while it streams in: files are written to the task
 * store in chunks as they arrive, so workers start on the first images while
 * the rest of the body is still being received and parsed. The task gets its
 * id only once it is stored whole (finish); an upload that fails part-way
 * (a limit, a cut connection, the store) is deleted with whatever was stored
 * or already answered of it (abort).
 */
import type { CreatedTask, TaskIngest, TaskStore, UploadedFile } from './store';

/**
 * Files per store write: small enough that a worker gets its first images
 * early in a large upload, large enough that the per-write cost is spread.
 */
const INGEST_CHUNK_FILES = 256;

export class BatchIngest {
  private task: Promise<TaskIngest> | null = null;
  private chunk: UploadedFile[] = [];
  /** Store writes run one after another, in upload order; the first failure stops the rest. */
  private writes: Promise<void> = Promise.resolve();
  private readonly fileIds: string[] = [];
  /** Files received so far. */
  count = 0;

  constructor(
    private readonly store: TaskStore,
    private readonly chunkFiles = INGEST_CHUNK_FILES,
  ) {}

  /** The next file of the upload. */
  add(file: UploadedFile): void {
    this.chunk.push(file);
    this.count++;
    if (this.chunk.length >= this.chunkFiles) this.flush();
  }

  private flush(): void {
    const files = this.chunk;
    this.chunk = [];
    this.writes = this.writes.then(async () => {
      const task = await (this.task ??= this.store.beginTask());
      this.fileIds.push(...(await task.add(files)));
    });
    // A failure is reported by finish(); until then it must not count as unhandled.
    this.writes.catch(() => {});
  }

  /** The upload is complete: stores its last files and releases the task to complete. */
  async finish(): Promise<CreatedTask> {
    if (this.chunk.length > 0) this.flush();
    await this.writes;
    if (!this.task) throw new Error('an upload without files has no task');
    const task = await this.task;
    await task.finish();
    return { taskId: task.taskId, fileIds: this.fileIds };
  }

  /** The upload failed: deletes what was stored of it. */
  async abort(): Promise<void> {
    this.chunk = [];
    await this.writes.catch(() => {});
    const task = await this.task?.catch(() => null);
    await task?.abort();
  }
}
