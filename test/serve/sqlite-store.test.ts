/** SQLite-only: a queue database written before per-file ids, the partial queue indexes and corrections' pages is upgraded in place when opened. */
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteTaskStore } from '../../serve/queue/sqlite';
import { createTask } from '../../serve/queue/store';
import { tempDir } from '../helpers/paths';

describe('SQLite task store: upgrade of an older database', () => {
  it('adds the per-file id column and swaps the first queue indexes for partial ones; old tasks stay readable and claimable, old corrections listed without a page', async () => {
    const file = path.join(tempDir('k49-queue-old-'), 'tasks.db');
    const old = new Database(file);
    old.exec(`
      CREATE TABLE tasks (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, total INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'processing', error TEXT, finished_at INTEGER);
      CREATE TABLE items (task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE, idx INTEGER NOT NULL, filename TEXT NOT NULL,
        image BLOB, state TEXT NOT NULL DEFAULT 'pending', lease_owner TEXT, lease_expires INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
        result TEXT, seq INTEGER NOT NULL, PRIMARY KEY (task_id, idx));
      CREATE INDEX items_claimable ON items(state, lease_expires, seq);
      CREATE INDEX items_queue_order ON items(state, seq, task_id, idx);
      INSERT INTO tasks (id, created_at, total) VALUES ('0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d', 1, 1);
      INSERT INTO items (task_id, idx, filename, image, seq) VALUES ('0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d', 0, 'a.png', x'01', 1);
      CREATE TABLE feedback (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, image BLOB NOT NULL, image_sha1 TEXT NOT NULL,
        class_id INTEGER NOT NULL, model_version TEXT NOT NULL, model_class_id INTEGER NOT NULL, model_confidence REAL NOT NULL,
        task_id TEXT, filename TEXT);
      INSERT INTO feedback VALUES ('old', 1, x'00', 'sha', 3, 'v', 4, 0.5, NULL, NULL);
    `);
    old.close();
    const store = new SqliteTaskStore(file, { maxAttempts: 3 });
    try {
      const indexes = new Database(file, { readonly: true });
      const itemIndexes = indexes
        .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL ORDER BY name`)
        .pluck()
        .all();
      indexes.close();
      assert.deepEqual(itemIndexes, ['items_file', 'items_leased', 'items_pending']);
      assert.equal((await store.stats()).pending, 1, 'the old item is counted as waiting');
      assert.equal((await store.getTask('0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d'))!.progress.total, 1);
      const { taskId, fileIds } = await createTask(store, [{ filename: 'b.png', bytes: Buffer.from([2]) }]);
      assert.deepEqual(await store.getFile(fileIds[0]!), { taskId, taskStatus: 'processing', result: null });
      assert.equal((await store.claim('w', 5, 60000)).length, 2, 'the old item and the new one are both claimable');
      const page = { page_sha256: 'a'.repeat(64), page_box: [1, 2, 3, 4] as [number, number, number, number] };
      await store.addFeedback({
        image: new Uint8Array(784),
        image_sha1: 'new',
        class_id: 5,
        model_version: 'v',
        model_class_id: 5,
        model_confidence: 0.9,
        task_id: null,
        filename: null,
        ...page,
      });
      const [old, added] = await store.listFeedback();
      assert.deepEqual([old!.id, old!.class_id, old!.page_sha256, old!.page_box], ['old', 3, null, null]);
      assert.deepEqual([added!.page_sha256, added!.page_box], [page.page_sha256, page.page_box]);
    } finally {
      await store.close();
    }
  });
});
