/**
 * A private Redis server spawned from Debian's redis-server on a free port,
 * with append-only persistence so a restart keeps the queue, as production
 * Redis for this queue must: the Redis store's tests and `make soak
 * STORE=redis` (which restarts it under load) use it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './harness';

export class RedisServer {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'k49-redis-'));

  private constructor(readonly port: number) {}

  /** Spawns a private server (its own port and data directory). */
  static async spawn(): Promise<RedisServer> {
    const server = new RedisServer(await freePort());
    await server.start();
    return server;
  }

  /** The server's process id, while it runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
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
    proc.on('error', (e) => console.error(`cannot start redis-server (installed by \`make setup-bench\` and \`make test\`): ${e.message}`));
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
