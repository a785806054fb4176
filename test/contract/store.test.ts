/**
 * The TaskStore contract, run against every implementation (SQLite and a
 * real Redis): uploads stored as they arrive (finished, aborted, abandoned),
 * leases, idempotent results, lease expiry and takeover, poison items,
 * release, and expiry of finished tasks.
 */
import assert from 'node:assert/strict';
import { openStore } from '../../serve/queue/open';
import { createTask, type ItemResult, type TaskStore } from '../../serve/queue/store';
import { TaskResponse } from '../../serve/schemas';
import { waitFor } from '../helpers/service';
import { STORE_BACKENDS } from '../helpers/stores';

const files = (n: number) => Array.from({ length: n }, (_, i) => ({ filename: `${i}.png`, bytes: Buffer.from([i + 1]) }));
const answer = (taskId: string, index: number, result: ItemResult) => ({ taskId, index, result });

for (const backend of STORE_BACKENDS) {
  describe(`task store contract: ${backend.name}`, function () {
    this.timeout(60000);
    let store: TaskStore;
    const open = async (ttlMs = 3_600_000) => (store = await openStore(await backend.queueUrl(), { maxAttempts: 2, ttlMs }));
    afterEach(async () => store?.close());

    it('stores images byte for byte and leases each to one worker at a time; results are idempotent', async () => {
      await open();
      const { taskId: id } = await createTask(store, files(3));
      const a = await store.claim('a', 2, 60000);
      const b = await store.claim('b', 5, 60000);
      assert.deepEqual(
        a.map((i) => i.index),
        [0, 1],
      );
      assert.deepEqual(
        b.map((i) => i.index),
        [2],
      );
      assert.deepEqual(
        [...a, ...b].map((i) => [i.filename, [...i.bytes]]),
        [
          ['0.png', [1]],
          ['1.png', [2]],
          ['2.png', [3]],
        ],
      );
      assert.deepEqual(await store.claim('c', 5, 60000), []);
      assert.deepEqual(await store.stats(), { pending: 0, processing: 3, answered: { ok: 0, error: 0 } });
      assert.equal((await store.getTask(id))!.status, 'processing');
      const result = (i: number, p: string) => answer(id, i, { filename: `${i}.png`, prediction: p, class_id: 0, confidence: 1 });
      await store.complete('a', [result(0, 'あ'), result(1, 'あ')]);
      await store.complete('a', [result(0, 'い')]); // a repeated write keeps the first result
      assert.deepEqual((await store.getTask(id))!.progress, { done: 2, total: 3 });
      await store.complete('b', [result(2, 'う')]);
      const t = (await store.getTask(id))!;
      assert.equal(t.status, 'completed');
      assert.deepEqual(t.progress, { done: 3, total: 3 });
      assert.deepEqual(
        t.results.map((r) => ('prediction' in r ? r.prediction : r.error)),
        ['あ', 'あ', 'う'],
      );
      assert.deepEqual(await store.stats(), { pending: 0, processing: 0, answered: { ok: 3, error: 0 } }, 'the repeated write is not counted');
      assert.equal(await store.getTask('00000000-0000-4000-8000-000000000000'), null);
      // The JSON text GET /tasks/{id} sends (stored results spliced in) is the task view, in the documented schema.
      assert.deepEqual(TaskResponse.parse(JSON.parse((await store.getTaskJson(id))!)), t);
      assert.equal(await store.getTaskJson('00000000-0000-4000-8000-000000000000'), null);
    });

    it('stores an upload as it arrives: its files are claimed and answered at once, and the task completes only when the upload finishes', async () => {
      await open();
      const ingest = await store.beginTask();
      const firstIds = await ingest.add(files(2));
      const first = await store.claim('w', 5, 60000);
      assert.deepEqual(
        first.map((i) => [i.index, i.filename]),
        [
          [0, '0.png'],
          [1, '1.png'],
        ],
      );
      await store.complete(
        'w',
        first.map((i) => answer(ingest.taskId, i.index, { filename: i.filename, error: 'x' })),
      );
      let t = (await store.getTask(ingest.taskId))!;
      assert.equal(t.status, 'processing', 'every stored file is answered, but more may come');
      assert.deepEqual(t.progress, { done: 2, total: 2 });
      assert.equal((await store.getFile(firstIds[0]!))!.taskStatus, 'processing');
      const moreIds = await ingest.add([{ filename: 'last.png', bytes: Buffer.from([9]) }]);
      const [last] = await store.claim('w', 5, 60000);
      assert.deepEqual([last!.index, last!.filename, [...last!.bytes]], [2, 'last.png', [9]]);
      await store.complete('w', [answer(ingest.taskId, 2, { filename: 'last.png', prediction: 'あ', class_id: 0, confidence: 1 })]);
      assert.equal((await store.getTask(ingest.taskId))!.status, 'processing');
      await ingest.finish();
      t = (await store.getTask(ingest.taskId))!;
      assert.equal(t.status, 'completed', 'completed by the end of its upload');
      assert.deepEqual(t.progress, { done: 3, total: 3 });
      assert.deepEqual(
        t.results.map((r) => r.filename),
        ['0.png', '1.png', 'last.png'],
      );
      assert.deepEqual((await store.getFile(moreIds[0]!))!.result, { filename: 'last.png', prediction: 'あ', class_id: 0, confidence: 1 });

      // Finished before the workers: it completes with its last answer.
      const other = await store.beginTask();
      await other.add(files(1));
      await other.finish();
      assert.equal((await store.getTask(other.taskId))!.status, 'processing');
      const [item] = await store.claim('w', 5, 60000);
      await store.complete('w', [answer(other.taskId, item!.index, { filename: item!.filename, error: 'x' })]);
      assert.equal((await store.getTask(other.taskId))!.status, 'completed');
    });

    it('deletes an aborted upload whole: its queued files, its per-file ids, and the answers of a worker that had started on it', async () => {
      await open();
      const ingest = await store.beginTask();
      const ids = await ingest.add(files(3));
      const claimed = await store.claim('w', 1, 60000);
      await store.complete('w', [answer(ingest.taskId, claimed[0]!.index, { filename: '0.png', error: 'x' })]);
      const late = await store.claim('w', 1, 60000);
      await ingest.abort();
      assert.equal((await store.stats()).pending, 0, 'its files no longer wait in the queue');
      assert.equal(await store.getTask(ingest.taskId), null);
      for (const id of ids) assert.equal(await store.getFile(id), null);
      await store.complete('w', [answer(ingest.taskId, late[0]!.index, { filename: '1.png', error: 'x' })]); // no error: dropped
      assert.deepEqual(await store.claim('w', 5, 60000), [], 'its last queued file is not handed out');
      assert.deepEqual(await store.stats(), { pending: 0, processing: 0, answered: { ok: 0, error: 1 } }, 'only the answer given before the abort was counted');
      assert.equal(await store.getTask(ingest.taskId), null, 'the late answer did not bring the task back');
      await assert.rejects(ingest.finish(), /deleted|expired/, 'an aborted upload cannot be finished');
    });

    it('forgets an upload that never finished (the API process died during it) TASK_TTL after it began', async () => {
      const ttlMs = 300;
      await open(ttlMs);
      const ingest = await store.beginTask();
      const [fileId] = await ingest.add(files(1));
      await store.purge(ttlMs);
      assert.notEqual(await store.getFile(fileId!), null, 'kept while younger than the TTL');
      await waitFor(
        'the abandoned upload to be forgotten',
        async () => {
          await store.purge(ttlMs);
          return (await store.getTask(ingest.taskId)) === null && (await store.getFile(fileId!)) === null;
        },
        10000,
        100,
      );
    });

    it('gives an expired lease to another worker, and reports an item that keeps failing', async () => {
      await open();
      const leaseMs = 300;
      const { taskId: id } = await createTask(store, files(1));
      assert.equal((await store.claim('dead', 1, leaseMs)).length, 1);
      const again = await waitFor(
        'the expired lease to be claimable',
        async () => {
          const c = await store.claim('alive', 1, leaseMs);
          return c.length ? c : null;
        },
        20000,
        50,
      );
      assert.equal(again[0]!.attempts, 2);
      // maxAttempts (2) reached: reported as a per-file error, not retried
      const t = await waitFor(
        'the poison item to be reported',
        async () => {
          assert.deepEqual(await store.claim('third', 1, leaseMs), []);
          const task = (await store.getTask(id))!;
          return task.status === 'completed' ? task : null;
        },
        20000,
        50,
      );
      assert.match('error' in t.results[0]! ? t.results[0].error : '', /could not be processed after 2 attempts/);
      assert.deepEqual((await store.stats()).answered, { ok: 0, error: 1 });
    });

    it('gives each file its own random id, resolvable to that file alone, across a reopen of the store', async () => {
      const url = await backend.queueUrl();
      store = await openStore(url, { maxAttempts: 2, ttlMs: 3_600_000 });
      const { taskId, fileIds } = await createTask(store, files(3));
      assert.equal(fileIds.length, 3);
      assert.equal(new Set([taskId, ...fileIds]).size, 4, 'every id differs');
      for (const fid of fileIds) assert.match(fid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(await store.getFile(fileIds[1]!), { taskId, taskStatus: 'processing', result: null });
      const items = await store.claim('w', 3, 60000);
      await store.complete('w', [answer(taskId, 1, { filename: '1.png', prediction: 'す', class_id: 12, confidence: 0.5 })]);
      assert.deepEqual(await store.getFile(fileIds[1]!), {
        taskId,
        taskStatus: 'processing',
        result: { filename: '1.png', prediction: 'す', class_id: 12, confidence: 0.5 },
      });
      assert.deepEqual((await store.getFile(fileIds[0]!))?.result, null, 'another file of the task is still unanswered');
      await store.complete(
        'w',
        items.filter((i) => i.index !== 1).map((i) => answer(taskId, i.index, { filename: i.filename, error: 'bad' })),
      );
      await store.close();
      store = await openStore(url, { maxAttempts: 2, ttlMs: 3_600_000 });
      assert.deepEqual(await store.getFile(fileIds[2]!), { taskId, taskStatus: 'completed', result: { filename: '2.png', error: 'bad' } });
      assert.equal(await store.getFile(taskId), null, 'a task id is not a file id');
      assert.equal(await store.getFile('00000000-0000-4000-8000-000000000000'), null);
    });

    it('gives leased items back on release', async () => {
      await open();
      await createTask(store, files(2));
      assert.equal((await store.claim('w', 2, 60000)).length, 2);
      await store.release('w');
      assert.deepEqual(await store.stats(), { pending: 2, processing: 0, answered: { ok: 0, error: 0 } });
      assert.equal((await store.claim('w2', 2, 60000)).length, 2);
    });

    it('forgets a finished task TASK_TTL after it finished', async () => {
      const ttlMs = 300;
      await open(ttlMs);
      const { taskId: id, fileIds } = await createTask(store, files(2));
      const items = await store.claim('w', 2, 60000);
      await store.complete(
        'w',
        items.map((i) => answer(id, i.index, { filename: i.filename, error: 'x' })),
      );
      await store.purge(ttlMs);
      assert.equal((await store.getTask(id))!.status, 'completed', 'kept while younger than the TTL');
      assert.notEqual(await store.getFile(fileIds[1]!), null);
      await waitFor(
        'the finished task to be forgotten',
        async () => {
          await store.purge(ttlMs);
          return (await store.getTask(id)) === null;
        },
        10000,
        100,
      );
      await waitFor(
        'its per-file ids to be forgotten with it',
        async () => (await store.getFile(fileIds[0]!)) === null && (await store.getFile(fileIds[1]!)) === null,
        10000,
        100,
      );
    });
  });
}
