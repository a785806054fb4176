/**
 * A real Redis server for the task store tests: the one CI started
 * (K49_TEST_REDIS_URL, see .ci/run) or a private one spawned here from
 * Debian's redis-server on a free port, with append-only persistence so a
 * restart keeps the queue, as production Redis for this queue must.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { tempDir } from './paths';
import { freePort, waitFor } from './service';

export class RedisServer {
  private proc: ChildProcess | null = null;
  private readonly dir = tempDir('k49-redis-');

  private constructor(readonly port: number) {}

  /** Spawns a private server (its own port and data directory). */
  static async spawn(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  async start(): Promise<void> {
    this.proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--save',
        '',
        '--logfile',
        path.join(this.dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    const proc = this.proc;
    proc.on('error', (e) => console.error(`cannot start redis-server (installed by \`make setup\`): ${e.message}`));
    // Never outlive the test run, and never keep it alive.
    proc.unref();
    process.once('exit', () => proc.kill('SIGKILL'));
    await waitFor('redis-server to answer', () => ping(this.url()), 10000, 50);
  }

  /** Stops the server the way an operator's restart does (SIGTERM: it writes its append-only file and exits). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
    this.proc = null;
  }
}

async function ping(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

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
