import assert from 'node:assert/strict';
import path from 'node:path';
import { SqliteTaskStore } from '../../serve/queue/sqlite';
import { tempDir } from '../helpers/paths';

describe('SQLite task store', () => {
  const open = () => new SqliteTaskStore(path.join(tempDir('k49-store-'), 'tasks.db'), { maxAttempts: 2 });
  const files = (n: number) => Array.from({ length: n }, (_, i) => ({ filename: `${i}.png`, bytes: Buffer.from([i]) }));

  it('leases each item to one worker at a time and completes idempotently', async () => {
    const store = open();
    const id = await store.createTask(files(3));
    const a = await store.claim('a', 2, 60000);
    const b = await store.claim('b', 5, 60000);
    assert.deepEqual(a.map((i) => i.index), [0, 1]);
    assert.deepEqual(b.map((i) => i.index), [2]);
    assert.deepEqual(await store.claim('c', 5, 60000), []);
    assert.deepEqual(await store.stats(), { pending: 0, processing: 3 });
    const result = (i: number, p: string) => ({ taskId: id, index: i, result: { filename: `${i}.png`, prediction: p, class_id: 0, confidence: 1 } });
    await store.complete('a', [result(0, 'あ'), result(1, 'あ')]);
    await store.complete('a', [result(0, 'い')]); // a repeated write keeps the first result
    await store.complete('b', [result(2, 'う')]);
    const t = (await store.getTask(id))!;
    assert.equal(t.status, 'completed');
    assert.deepEqual(t.results.map((r) => ('prediction' in r ? r.prediction : r.error)), ['あ', 'あ', 'う']);
    await store.close();
  });

  it('gives an expired lease to another worker, and reports an item that keeps failing', async () => {
    const store = open();
    const id = await store.createTask(files(1));
    assert.equal((await store.claim('dead', 1, 1)).length, 1);
    await new Promise((r) => setTimeout(r, 10));
    const again = await store.claim('alive', 1, 1);
    assert.equal(again.length, 1);
    assert.equal(again[0]!.attempts, 2);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(await store.claim('third', 1, 60000), []); // maxAttempts reached: reported, not retried
    const t = (await store.getTask(id))!;
    assert.equal(t.status, 'completed');
    assert.match('error' in t.results[0]! ? t.results[0].error : '', /could not be processed after 2 attempts/);
    await store.close();
  });

  it('gives leased items back on release, and purges finished tasks after the TTL', async () => {
    const store = open();
    const id = await store.createTask(files(2));
    await store.claim('w', 2, 60000);
    await store.release('w');
    assert.deepEqual(await store.stats(), { pending: 2, processing: 0 });
    const items = await store.claim('w', 2, 60000);
    await store.complete('w', items.map((i) => ({ taskId: id, index: i.index, result: { filename: i.filename, error: 'x' } })));
    assert.equal(await store.purge(60_000), 0); // finished just now: kept
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await store.purge(1), 1);
    assert.equal(await store.getTask(id), null);
    await store.close();
  });
});
