/** The task store implementations every contract test runs against. */
import path from 'node:path';
import { tempDir } from './paths';
import { freshRedisUrl } from './redis';

export interface StoreBackend {
  name: string;
  /** A QUEUE_URL naming an empty queue. */
  queueUrl(): Promise<string>;
}

export const STORE_BACKENDS: StoreBackend[] = [
  { name: 'SQLite', queueUrl: async () => `sqlite:${path.join(tempDir('k49-queue-'), 'tasks.db')}` },
  { name: 'Redis', queueUrl: freshRedisUrl },
];
