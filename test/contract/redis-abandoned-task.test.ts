/**
 * Redis only: Redis stops between storing a task's images and queuing its
 * jobs. The client gets a 503-class error (StoreUnavailableError), and what
 * was stored expires by itself (TASK_TTL) instead of staying forever.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisTaskStore } from '../../serve/queue/redis';
import { createTask, StoreUnavailableError } from '../../serve/queue/store';
import { RedisServer } from '../helpers/redis';

describe('Redis task store: a task half-made when Redis stops', function () {
  this.timeout(60000);

  it('gets StoreUnavailableError, and every key it left behind expires within TASK_TTL', async () => {
    const server = await RedisServer.spawn(); // its own server: this test stops it
    const ttlMs = 3_600_000;
    const store = new RedisTaskStore(server.url(), { maxAttempts: 3, ttlMs });
    await store.connect();
    // Redis goes down at exactly that moment: after the images are stored, while the jobs are being queued.
    (store as unknown as { queue: { addBulk: () => Promise<never> } }).queue.addBulk = async () => {
      await server.stop();
      throw new Error('Connection is closed.');
    };
    const files = [0, 1, 2].map((i) => ({ filename: `${i}.png`, bytes: Buffer.from([i]) }));
    await assert.rejects(createTask(store, files), StoreUnavailableError);
    await store.close();

    await server.start(); // the same data directory: the append-only file brings back what was stored
    const redis = new Redis(server.url());
    try {
      const keys = await redis.keys('k49:*');
      const left = keys.filter((k) => k.startsWith('k49:task:') || k.startsWith('k49:file:'));
      assert.ok(left.length >= 3 + 3, `the half-made task is in Redis after the restart (${keys.join(', ')})`);
      for (const k of left) {
        const ttl = await redis.pttl(k);
        assert.ok(ttl > 0 && ttl <= ttlMs, `${k} expires (PTTL ${ttl})`);
      }
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
