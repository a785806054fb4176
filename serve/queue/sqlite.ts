/**
 * SQLite task store (better-sqlite3, WAL mode): the zero-setup default.
 * Workers in other processes share the database file; claiming runs in an
 * IMMEDIATE transaction, so two workers never lease the same item, and an
 * expired lease (a worker killed with SIGKILL) makes its items claimable again.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  type ClaimedItem,
  type FeedbackRecord,
  type FileView,
  type ItemResult,
  type NewFeedback,
  type PageBox,
  parseTaskView,
  type QueueStats,
  type StoredStatus,
  type StoreOptions,
  StoreUnavailableError,
  type TaskIngest,
  type TaskStore,
  type TaskView,
  taskViewJson,
  viewStatus,
} from './store';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  total INTEGER NOT NULL,
  done INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'processing',
  error TEXT,
  finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS items (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  filename TEXT NOT NULL,
  image BLOB,
  state TEXT NOT NULL DEFAULT 'pending',
  lease_owner TEXT,
  lease_expires INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  seq INTEGER NOT NULL,
  file_id TEXT,
  PRIMARY KEY (task_id, idx)
);
-- Queue indexes hold only the items waiting (pending) or in hand (leased): a finished item leaves both, so
-- claiming and completing update less, and the indexes stay small while finished items wait for the purge.
-- (items_claimable and items_queue_order, on every item, were the first schema's.)
DROP INDEX IF EXISTS items_claimable;
DROP INDEX IF EXISTS items_queue_order;
CREATE INDEX IF NOT EXISTS items_pending ON items(seq, task_id, idx) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS items_leased ON items(lease_expires) WHERE state = 'leased';
CREATE INDEX IF NOT EXISTS tasks_finished ON tasks(finished_at);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE IF NOT EXISTS feedback (
  id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  image BLOB NOT NULL,
  image_sha1 TEXT NOT NULL,
  class_id INTEGER NOT NULL,
  model_version TEXT NOT NULL,
  model_class_id INTEGER NOT NULL,
  model_confidence REAL NOT NULL,
  task_id TEXT,
  filename TEXT,
  page_sha256 TEXT,
  page_box TEXT
);
`;
const FILE_ID_INDEX = 'CREATE UNIQUE INDEX IF NOT EXISTS items_file ON items(file_id)';

/**
 * Columns that came after the first schema (per-file ids; then the page of a correction): a database made
 * before gets them, NULL for its old rows.
 */
function addMissingColumns(db: Database.Database, table: string, columns: readonly string[]): void {
  const present = new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
  for (const column of columns) if (!present.has(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} TEXT`);
}

export class SqliteTaskStore implements TaskStore {
  private connection: Database.Database | null = null;
  private readonly file: string;

  constructor(
    file: string,
    private readonly options: Pick<StoreOptions, 'maxAttempts'>,
  ) {
    this.file = path.resolve(file);
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.open();
  }

  private open(): Database.Database {
    const db = new Database(this.file, { timeout: 5000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL'); // durable across process crashes in WAL mode
      db.pragma('foreign_keys = ON');
      db.exec(SCHEMA);
      addMissingColumns(db, 'items', ['file_id']);
      db.exec(FILE_ID_INDEX);
      addMissingColumns(db, 'feedback', ['page_sha256', 'page_box']);
    } catch (e) {
      db.close();
      throw e;
    }
    return (this.connection = db);
  }

  /** The open database; reopened after a failure that a fixed disk or volume can cure. */
  private get db(): Database.Database {
    return this.connection ?? this.open();
  }

  /** Runs store work, turning storage failures into StoreUnavailableError. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (/SQLITE_(READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB)/.test(code)) {
        // A read-only or vanished volume: drop the connection so the next call opens the file afresh once it is fixed.
        try {
          this.connection?.close();
        } catch {
          /* already unusable */
        }
        this.connection = null;
      }
      if (/SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|CORRUPT|NOTADB)/.test(code)) {
        const hint = code.startsWith('SQLITE_FULL')
          ? ' (the disk holding the queue is full)'
          : code.startsWith('SQLITE_READONLY')
            ? ' (the queue database is read-only)'
            : '';
        throw new StoreUnavailableError(`task store unavailable (${code})${hint}: ${(e as Error).message}`);
      }
      throw e;
    }
  }

  async beginTask(): Promise<TaskIngest> {
    const taskId = randomUUID();
    // One queue position (seq) for all of a task's files, so tasks are served in the order they began.
    const seq = Date.now();
    this.guard(() => this.db.prepare(`INSERT INTO tasks (id, created_at, total, status) VALUES (?, ?, 0, 'uploading')`).run(taskId, seq));
    return {
      taskId,
      add: async (files) =>
        this.guard(() => {
          const fileIds = files.map(() => randomUUID());
          const insertItem = this.db.prepare('INSERT INTO items (task_id, idx, filename, image, seq, file_id) VALUES (?, ?, ?, ?, ?, ?)');
          const tx = this.db.transaction(() => {
            const task = this.db
              .prepare(`UPDATE tasks SET total = total + ? WHERE id = ? AND status = 'uploading' RETURNING total`)
              .get(files.length, taskId) as { total: number } | undefined;
            if (!task) throw new Error(`task ${taskId} is no longer being uploaded`);
            const first = task.total - files.length;
            files.forEach((f, i) => {
              insertItem.run(taskId, first + i, f.filename, f.bytes, seq, fileIds[i]);
            });
          });
          tx.immediate();
          return fileIds;
        }),
      finish: async () =>
        this.guard(() => {
          const { changes } = this.db
            .prepare(
              `UPDATE tasks SET status = CASE WHEN done >= total THEN 'completed' ELSE 'processing' END,
                 finished_at = CASE WHEN done >= total THEN @at ELSE NULL END WHERE id = @id AND status = 'uploading'`,
            )
            .run({ at: Date.now(), id: taskId });
          if (changes === 0) throw new Error(`task ${taskId} was deleted before its upload finished`);
        }),
      abort: async () => {
        this.guard(() => this.db.prepare('DELETE FROM tasks WHERE id = ?').run(taskId));
      },
    };
  }

  async getFile(fileId: string): Promise<FileView | null> {
    return this.guard(() => {
      const row = this.db.prepare('SELECT t.id, t.status, t.error, i.result FROM items i JOIN tasks t ON t.id = i.task_id WHERE i.file_id = ?').get(fileId) as
        | { id: string; status: StoredStatus; error: string | null; result: string | null }
        | undefined;
      if (!row) return null;
      return {
        taskId: row.id,
        taskStatus: viewStatus(row.status),
        result: row.result ? (JSON.parse(row.result) as ItemResult) : null,
        ...(row.error ? { error: row.error } : {}),
      };
    });
  }

  async getTask(taskId: string): Promise<TaskView | null> {
    return parseTaskView(await this.getTaskJson(taskId));
  }

  async getTaskJson(taskId: string): Promise<string | null> {
    return this.guard(() => {
      const t = this.db.prepare('SELECT id, total, done, status, error FROM tasks WHERE id = ?').get(taskId) as
        | { id: string; total: number; done: number; status: StoredStatus; error: string | null }
        | undefined;
      if (!t) return null;
      const status = viewStatus(t.status);
      const results =
        status === 'processing' ? [] : (this.db.prepare('SELECT result FROM items WHERE task_id = ? ORDER BY idx').pluck().all(taskId) as (string | null)[]);
      return taskViewJson({ task_id: t.id, status, progress: { done: t.done, total: t.total }, ...(t.error ? { error: t.error } : {}) }, results);
    });
  }

  async claim(workerId: string, max: number, leaseMs: number): Promise<ClaimedItem[]> {
    return this.guard(() => this.claimNow(workerId, max, leaseMs));
  }

  private claimNow(workerId: string, max: number, leaseMs: number): ClaimedItem[] {
    const now = Date.now();
    // Expired leases first (older work), then pending items in queue order: two walks of the partial indexes.
    const expired = this.db.prepare(
      `SELECT rowid, task_id, idx, filename, image, attempts FROM items
       WHERE state = 'leased' AND lease_expires < ? ORDER BY seq, task_id, idx LIMIT ?`,
    );
    const pending = this.db.prepare(
      `SELECT rowid, task_id, idx, filename, image, attempts FROM items
       WHERE state = 'pending' ORDER BY seq, task_id, idx LIMIT ?`,
    );
    const lease = this.db.prepare(`UPDATE items SET state = 'leased', lease_owner = ?, lease_expires = ?, attempts = attempts + 1 WHERE rowid = ?`);
    const giveUp = this.db.prepare(`UPDATE items SET state = 'done', image = NULL, result = ? WHERE rowid = ?`);
    const tx = this.db.transaction(() => {
      type Row = { rowid: number; task_id: string; idx: number; filename: string; image: Buffer; attempts: number };
      const rows = expired.all(now, max) as Row[];
      if (rows.length < max) rows.push(...(pending.all(max - rows.length) as Row[]));
      const claimed: ClaimedItem[] = [];
      const gaveUp = new Map<string, number>();
      for (const r of rows) {
        if (r.attempts >= this.options.maxAttempts) {
          // Poison item: it took a worker down this many times. Report it, do not retry forever.
          giveUp.run(JSON.stringify({ filename: r.filename, error: `could not be processed after ${r.attempts} attempts`, error_code: 'failed' }), r.rowid);
          this.countAnswered(0, 1);
          gaveUp.set(r.task_id, (gaveUp.get(r.task_id) ?? 0) + 1);
          continue;
        }
        lease.run(workerId, now + leaseMs, r.rowid);
        claimed.push({ taskId: r.task_id, index: r.idx, filename: r.filename, bytes: r.image, attempts: r.attempts + 1 });
      }
      for (const [t, n] of gaveUp) this.addDone(t, n);
      return claimed;
    });
    return tx.immediate();
  }

  /**
   * Counts `n` more finished images of a task (each image is counted once: only its first answer changes its row),
   * completing it at the last; a task still being uploaded completes in finish() instead.
   */
  private addDone(taskId: string, n: number): void {
    this.db
      .prepare(
        `UPDATE tasks SET done = done + @n,
           status = CASE WHEN status = 'processing' AND done + @n >= total THEN 'completed' ELSE status END,
           finished_at = CASE WHEN status = 'processing' AND done + @n >= total THEN @at ELSE finished_at END
         WHERE id = @id`,
      )
      .run({ n, at: Date.now(), id: taskId });
  }

  async complete(workerId: string, results: { taskId: string; index: number; result: ItemResult }[]): Promise<void> {
    this.guard(() => this.completeNow(workerId, results));
  }

  private completeNow(workerId: string, results: { taskId: string; index: number; result: ItemResult }[]): void {
    const update = this.db.prepare(
      `UPDATE items SET state = 'done', image = NULL, result = ?, lease_owner = ? WHERE task_id = ? AND idx = ? AND state != 'done'`,
    );
    const tx = this.db.transaction(() => {
      const done = new Map<string, number>();
      let ok = 0,
        error = 0;
      for (const r of results) {
        // Only the first answer of an image counts (a re-processed image keeps its first result).
        if (update.run(JSON.stringify(r.result), workerId, r.taskId, r.index).changes === 0) continue;
        if ('error' in r.result) error++;
        else ok++;
        done.set(r.taskId, (done.get(r.taskId) ?? 0) + 1);
      }
      this.countAnswered(ok, error);
      for (const [t, n] of done) this.addDone(t, n);
    });
    tx.immediate();
  }

  /** Cumulative outcome counters, kept in the meta table (they survive the purge of old tasks). */
  private countAnswered(ok: number, error: number): void {
    const add = this.db.prepare(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = CAST(v AS INTEGER) + excluded.v`);
    if (ok) add.run('answered_ok', ok);
    if (error) add.run('answered_error', error);
  }

  async release(workerId: string): Promise<void> {
    this.guard(() =>
      this.db
        .prepare(
          `UPDATE items SET state = 'pending', lease_owner = NULL, lease_expires = NULL, attempts = MAX(attempts - 1, 0) WHERE state = 'leased' AND lease_owner = ?`,
        )
        .run(workerId),
    );
  }

  /** Also deletes uploads that never finished (the API process died during one) once they are older than ttlMs. */
  async purge(ttlMs: number): Promise<number> {
    return this.guard(
      () =>
        this.db
          .prepare(`DELETE FROM tasks WHERE (finished_at IS NOT NULL AND finished_at < @before) OR (status = 'uploading' AND created_at < @before)`)
          .run({ before: Date.now() - ttlMs }).changes,
    );
  }

  async stats(): Promise<QueueStats> {
    return this.guard(() => {
      // Each count walks its state's partial index, not the finished items kept until the purge.
      const { pending, leased } = this.db
        .prepare(`SELECT (SELECT COUNT(*) FROM items WHERE state = 'pending') AS pending, (SELECT COUNT(*) FROM items WHERE state = 'leased') AS leased`)
        .get() as { pending: number; leased: number };
      const counter = (k: string) => Number((this.db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined)?.v ?? 0);
      return { pending, processing: leased, answered: { ok: counter('answered_ok'), error: counter('answered_error') } };
    });
  }

  async addFeedback(feedback: NewFeedback): Promise<FeedbackRecord> {
    const record: FeedbackRecord = { id: randomUUID(), created_at: Date.now(), ...feedback };
    this.guard(() =>
      this.db
        .prepare(
          `INSERT INTO feedback (id, created_at, image, image_sha1, class_id, model_version, model_class_id, model_confidence, task_id, filename, page_sha256, page_box)
           VALUES (@id, @created_at, @image, @image_sha1, @class_id, @model_version, @model_class_id, @model_confidence, @task_id, @filename, @page_sha256, @page_box)`,
        )
        .run({ ...record, image: Buffer.from(record.image), page_box: record.page_box && JSON.stringify(record.page_box) }),
    );
    return record;
  }

  async listFeedback(): Promise<FeedbackRecord[]> {
    return this.guard(() =>
      (
        this.db.prepare('SELECT * FROM feedback ORDER BY created_at, rowid').all() as (Omit<FeedbackRecord, 'image' | 'page_box'> & {
          image: Buffer;
          page_box: string | null;
        })[]
      ).map((r) => ({
        ...r,
        image: new Uint8Array(r.image),
        page_box: r.page_box === null ? null : (JSON.parse(r.page_box) as PageBox),
      })),
    );
  }

  async ping(): Promise<void> {
    this.guard(() => {
      this.db.prepare('SELECT 1').get();
      // A write probe: a read-only or full database must show as unavailable.
      this.db.prepare(`INSERT OR REPLACE INTO meta (k, v) VALUES ('ping', ?)`).run(String(Date.now()));
    });
  }

  async close(): Promise<void> {
    this.connection?.close();
    this.connection = null;
  }
}
