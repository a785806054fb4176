/**
 * A real Redis server for the task store tests: the one CI started
 * (K49_TEST_REDIS_URL, see .ci/run) or a private one (bench/redis.ts).
 */
import { Redis } from 'ioredis';
import { RedisServer } from '../../bench/redis';

export { RedisServer };

/** An empty database on the shared test server: K49_TEST_REDIS_URL's server, else one spawned once for this test run. */
let shared: Promise<RedisServer> | null = null;
let nextDb = 1;
export async function freshRedisUrl(): Promise<string> {
  const base = process.env.K49_TEST_REDIS_URL;
  const db = nextDb++ % 16;
  const url = base ? `${base.replace(/\/\d*$/, '')}/${db}` : (await (shared ??= RedisServer.spawn())).url(db);
  const r = new Redis(url);
  await r.flushdb();
  r.disconnect();
  return url;
}
