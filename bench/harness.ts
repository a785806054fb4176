/**
 * Starts the real API and worker processes, on a free port and a private
 * SQLite queue, and stops them afterwards; the real-sample images they send;
 * and a reader for /metrics. Used by the end-to-end tests, the serving
 * benchmark and the soak run alike.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadSplit, PIXELS } from '../pipeline/core/dataset';
import { CLI, LATEST, PROJECT_ROOT, REAL_SAMPLE_DIR } from '../pipeline/core/paths';

let sample: Promise<Awaited<ReturnType<typeof loadSplit>>> | null = null;
/** The real sample, loaded once per process. */
export function realSample() {
  return (sample ??= loadSplit(REAL_SAMPLE_DIR, 'test'));
}

/** Image `index` of N*784 bytes as the 28x28 greyscale PNG a user would send. */
export function k49Png(images: Uint8Array, index: number): Promise<Buffer> {
  return sharp(Buffer.from(images.subarray(index * PIXELS, (index + 1) * PIXELS)), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
}

/** A real-sample image as the 28x28 greyscale PNG a user would send. */
export async function realSamplePng(index: number): Promise<Buffer> {
  return k49Png((await realSample()).images, index);
}
const tempDir = (prefix: string) => mkdtempSync(path.join(os.tmpdir(), prefix));

export const TEST_MODEL = process.env.K49_TEST_MODEL ?? LATEST;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** JSON log lines written so far. */
  logs: () => Record<string, unknown>[];
  exited: Promise<number | null>;
}

export function startProcess(command: 'serve' | 'worker' | 'run', env: Record<string, string>): Proc {
  const child = spawn(process.execPath, [CLI, command], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, MODEL: TEST_MODEL, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': the process's output has then been read to its end (log-based checks see every line).
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    logs: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export class TestService {
  api: Proc | null = null;
  workers: Proc[] = [];
  readonly queueFile: string;
  constructor(
    readonly port: number,
    readonly env: Record<string, string> = {},
  ) {
    this.queueFile = path.join(tempDir('k49-queue-'), 'tasks.db');
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private envFor(): Record<string, string> {
    return { PORT: String(this.port), HOST: '127.0.0.1', QUEUE_URL: `sqlite:${this.queueFile}`, ...this.env };
  }

  /** Starts the API and waits until /health says ok (or, with `healthy: false`, until it answers at all). */
  async startApi({ healthy = true } = {}): Promise<void> {
    this.api = startProcess('serve', this.envFor());
    await waitFor(
      healthy ? 'the API to be healthy' : 'the API to answer',
      async () => {
        const res = await fetch(`${this.url}/health`);
        return healthy ? res.ok : true;
      },
      60000,
      200,
    );
  }

  startWorker(extra: Record<string, string> = {}): Proc {
    const w = startProcess('worker', { ...this.envFor(), ...extra });
    this.workers.push(w);
    return w;
  }

  async stopApi(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.api && this.api.child.exitCode === null) {
      this.api.child.kill(signal);
      await this.api.exited;
    }
  }

  async stopAll(): Promise<void> {
    await this.stopApi();
    for (const w of this.workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill('SIGTERM');
        await w.exited;
      }
    }
  }
}

/** multipart/form-data upload with fetch. */
export async function upload(url: string, field: string, files: { name: string; bytes: Buffer; type?: string }[]): Promise<Response> {
  const form = new FormData();
  for (const f of files) form.append(field, new Blob([f.bytes], { type: f.type ?? 'application/octet-stream' }), f.name);
  return fetch(url, { method: 'POST', body: form });
}

/** One sample of the Prometheus text format: name, labels, value. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** GET /metrics, parsed (enough of the text exposition format for the samples this service writes). */
export async function scrapeMetrics(baseUrl: string): Promise<MetricSample[]> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the sample with this name whose labels include `labels` (0 when absent). */
export function metricValue(samples: MetricSample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}

/** CPU seconds (user + system) a process has used so far: its main thread (the event loop), the threads named as the model's, and the rest. */
export function processCpuSeconds(pid: number, modelThreads: number[] = []): { main: number; model: number; other: number } {
  // /proc/<pid>/task/<tid>/stat: utime and stime, fields 14 and 15, in clock ticks (100 per second on Linux); the main thread's tid is the pid.
  const ticks = (tid: string) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  const model = new Set(modelThreads.map(String));
  const seconds = { main: 0, model: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      seconds[tid === String(pid) ? 'main' : model.has(tid) ? 'model' : 'other'] += ticks(tid) / 100;
    } catch {
      // the thread ended meanwhile
    }
  }
  return seconds;
}

/** Resident memory of a process (Linux /proc), in MB; NaN once it has ended. */
export function residentMb(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The value at fraction `p` (0.5: the median) of an ascending array; NaN when it is empty. */
export const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : Number.NaN);

/** The median of numbers in any order. */
export const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
