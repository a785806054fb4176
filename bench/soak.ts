/**
 * `make soak`: a bounded soak run on loopback. The real API and one worker
 * take mixed traffic at a steady rate for a few minutes: /predict at RATE
 * requests/s (open loop: requests are sent on schedule whether or not the
 * previous ones have answered) and a /batch_predict of BATCH_IMAGES images
 * every BATCH_EVERY seconds. Reports errors (target 0), /predict latency
 * percentiles, every accepted image's result, and resident memory of the API
 * (from its /metrics) and of the worker over time. Writes bench/soak.json.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SOAK_RESULTS } from '../pipeline/core/paths';
import { TaskResponse } from '../serve/schemas';
import { freePort, metricValue, realSamplePng, scrapeMetrics, TestService, upload, waitFor } from './harness';

export interface SoakOptions {
  duration?: number;
  /** The artifact to serve (default the test model, artifacts/latest). */
  model?: string;
  /** /predict requests per second. */
  rate?: number;
  batchEverySeconds?: number;
  batchImages?: number;
  out?: string;
}

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN);
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** Resident memory of a process (Linux /proc), in bytes. */
function rssOf(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export async function runSoak(opts: SoakOptions = {}, log = console.error) {
  const seconds = opts.duration ?? 180;
  const rate = opts.rate ?? 20;
  const batchEvery = opts.batchEverySeconds ?? 10;
  const batchImages = opts.batchImages ?? 100;
  const pngs = await Promise.all(Array.from({ length: 200 }, (_, i) => realSamplePng(i)));

  const svc = new TestService(await freePort(), {
    ...(opts.model ? { MODEL: path.resolve(opts.model) } : {}),
    LOG_LEVEL: 'warn',
    MAX_BATCH_FILES: String(Math.max(1000, batchImages)),
  });
  await svc.startApi();
  const worker = svc.startWorker({ LOG_LEVEL: 'info' });
  await waitFor('the worker to be ready', async () => worker.logs().some((l) => l.msg === 'worker ready'), 60_000);
  const latencies: number[] = [];
  const errors: string[] = [];
  const tasks: { id: string; images: number }[] = [];
  const memory: { t: number; api_rss_mb: number; worker_rss_mb: number }[] = [];
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };
  const started = Date.now();
  let sent = 0;

  const predictOnce = async (i: number) => {
    const t0 = performance.now();
    try {
      const res = await upload(`${svc.url}/predict`, 'file', [{ name: `${i}.png`, bytes: pngs[i % pngs.length]! }]);
      await res.arrayBuffer();
      if (res.status !== 200) errors.push(`/predict ${res.status}`);
      else latencies.push(performance.now() - t0);
    } catch (e) {
      errors.push(`/predict ${(e as Error).message}`);
    }
  };
  const batchOnce = async (k: number) => {
    try {
      const files = Array.from({ length: batchImages }, (_, i) => ({ name: `${k}-${i}.png`, bytes: pngs[(k * 7 + i) % pngs.length]! }));
      const res = await upload(`${svc.url}/batch_predict`, 'files', files);
      const body = (await res.json()) as { task_id?: string };
      if (res.status !== 202 || !body.task_id) errors.push(`/batch_predict ${res.status}`);
      else tasks.push({ id: body.task_id, images: batchImages });
    } catch (e) {
      errors.push(`/batch_predict ${(e as Error).message}`);
    }
  };
  const sampleMemory = async () => {
    const api = metricValue(await scrapeMetrics(svc.url), 'k49_process_resident_memory_bytes');
    memory.push({ t: Math.round((Date.now() - started) / 1000), api_rss_mb: mb(api), worker_rss_mb: mb(rssOf(worker.child.pid)) });
  };

  log(`soak: ${seconds} s, /predict at ${rate}/s, a ${batchImages}-image batch every ${batchEvery} s, loopback ${svc.url}`);
  await sampleMemory();
  const predictTimer = setInterval(() => track(predictOnce(sent++)), 1000 / rate);
  let batches = 0;
  const batchTimer = setInterval(() => track(batchOnce(batches++)), batchEvery * 1000);
  const memoryTimer = setInterval(
    () =>
      track(
        sampleMemory().then(() =>
          log(
            `  t=${memory.at(-1)!.t} s: API ${memory.at(-1)!.api_rss_mb} MB, worker ${memory.at(-1)!.worker_rss_mb} MB, ${latencies.length} answered, ${errors.length} errors`,
          ),
        ),
      ),
    10_000,
  );
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(predictTimer);
  clearInterval(batchTimer);
  clearInterval(memoryTimer);
  await Promise.all([...inFlight]);

  // Every accepted image must end with a result.
  let answered = 0;
  for (const t of tasks) {
    const task = await waitFor(
      `task ${t.id}`,
      async () => {
        const body = TaskResponse.parse(await (await fetch(`${svc.url}/tasks/${t.id}`)).json());
        return body.status === 'completed' ? body : null;
      },
      120_000,
      200,
    );
    answered += task.results.filter((r) => 'class_id' in r).length;
    if (task.results.length !== t.images) errors.push(`task ${t.id}: ${task.results.length} results for ${t.images} images`);
  }
  await sampleMemory();
  const metrics = await scrapeMetrics(svc.url);
  await svc.stopAll();

  const sorted = [...latencies].sort((a, b) => a - b);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', node: process.version },
    command: `make soak (k49 soak --seconds ${seconds} --rate ${rate})`,
    config: { seconds, predict_rate_per_s: rate, batch_every_s: batchEvery, batch_images: batchImages },
    predict: {
      sent,
      answered: latencies.length,
      p50_ms: Number(percentile(sorted, 50).toFixed(1)),
      p99_ms: Number(percentile(sorted, 99).toFixed(1)),
      max_ms: Number((sorted.at(-1) ?? NaN).toFixed(1)),
      served_per_metrics: metricValue(metrics, 'k49_http_requests_total', { route: '/predict', status: '200' }),
    },
    batches: { accepted: tasks.length, images: tasks.reduce((s, t) => s + t.images, 0), answered_with_prediction: answered },
    errors: { count: errors.length, first: errors.slice(0, 10) },
    memory,
  };
  const out = path.resolve(opts.out ?? SOAK_RESULTS);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  const first = memory[0]!,
    last = memory.at(-1)!;
  log(
    `soak done: ${result.predict.answered}/${sent} /predict answered, p50 ${result.predict.p50_ms} ms, p99 ${result.predict.p99_ms} ms; ` +
      `${tasks.length} batches, ${answered}/${result.batches.images} images answered; ${errors.length} errors; ` +
      `API RSS ${first.api_rss_mb} -> ${last.api_rss_mb} MB, worker ${first.worker_rss_mb} -> ${last.worker_rss_mb} MB. Written to ${out}`,
  );
  return result;
}
