/**
 * Opens the task store named by QUEUE_URL. Adding a store: a class that
 * implements TaskStore (store.ts) in its own file, and its URL scheme here.
 */
import type { StoreOptions, TaskStore } from './store';

/** Opens the store named by QUEUE_URL: `sqlite:PATH` or `redis://[user:password@]host:port[/db]`. */
export async function openStore(url: string, options: StoreOptions): Promise<TaskStore> {
  // Each implementation is loaded on demand: a Redis deployment never needs the SQLite addon, and vice versa.
  if (url.startsWith('sqlite:')) {
    const { SqliteTaskStore } = require('./sqlite') as typeof import('./sqlite');
    return new SqliteTaskStore(url.slice('sqlite:'.length), options);
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    const { RedisTaskStore } = require('./redis') as typeof import('./redis');
    const store = new RedisTaskStore(url, options);
    await store.connect();
    return store;
  }
  throw new Error(`unsupported QUEUE_URL '${url}': use sqlite:PATH or redis://host:port/db`);
}
