/**
 * `make soak`: the real API and a worker under steady mixed traffic on
 * loopback, with faults on a schedule. /predict at RATE requests/s (open
 * loop: sent on schedule whether or not earlier ones have answered; RATE=50%
 * is half the peak measured first the way `make bench` measures it: 32
 * autocannon connections) and a
 * /batch_predict of BATCH_IMAGES images every BATCH_EVERY seconds, while the
 * worker is killed (SIGKILL) every KILL_WORKER_EVERY seconds and a new one
 * started, the API restarted every RESTART_API_EVERY seconds, and, on the
 * Redis store (STORE=redis), Redis restarted every RESTART_REDIS_EVERY
 * seconds. Requests refused while a process is down (no connection, 503,
 * 429) are counted apart and retried. Every accepted image is checked:
 * answered exactly once, in upload order, with the class `make evaluate`'s
 * classifier gives the same image. Writes bench/soak.json.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { K49Classifier } from '../pipeline/core/inference';
import { SOAK_RESULTS } from '../pipeline/core/paths';
import { decodeForModel } from '../pipeline/core/preprocess';
import { TaskResponse } from '../serve/schemas';
import { freePort, type Proc, percentile, realSamplePng, residentMb, TEST_MODEL, TestService, waitFor } from './harness';
import { loadUrl, multipartBody } from './load';
import { RedisServer } from './redis';

export interface SoakOptions {
  duration?: number;
  /** The artifact to serve (default the test model, artifacts/latest). */
  model?: string;
  /** /predict requests per second, or 'N%': that share of the peak measured at the start. */
  rate?: string;
  batchEverySeconds?: number;
  batchImages?: number;
  store?: 'sqlite' | 'redis';
  killWorkerEvery?: number;
  restartApiEvery?: number;
  restartRedisEvery?: number;
  out?: string;
}

/** Distinct real images sent (their expected classes computed once). */
const IMAGES = 200;
/** How long a request refused while a process is down is retried before it counts as lost. */
const RETRY_FOR_MS = 120_000;
/** Seconds of closed-loop load (32 connections) that measure the peak a RATE of N% is a share of. */
const PEAK_SECONDS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start, peak and end of a role's resident memory over the run (the role's current process at each sample). */
function memorySummary(samples: number[]) {
  const known = samples.filter((x) => Number.isFinite(x));
  return { start_mb: known[0] ?? null, peak_mb: known.length ? Math.max(...known) : null, end_mb: known.at(-1) ?? null };
}

/** What happened to a request: answered, or refused while something was down (retried), or an unexpected answer. */
type Outcome = { kind: 'answered'; text: string } | { kind: 'refused'; why: string } | { kind: 'unexpected'; why: string };

/** Keep-alive connections shared by every request: node:http costs the client a fraction of what fetch does, so the
 * soak's own CPU does not cap the rate it can send on a 2-core machine. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function attempt(url: string, body: { body: Buffer; contentType: string }, ok: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': body.contentType, 'content-length': body.body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(refusedOrUnexpected(e)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode === ok) resolve({ kind: 'answered', text });
        else if (res.statusCode === 503 || res.statusCode === 429) resolve({ kind: 'refused', why: `${res.statusCode}` });
        else resolve({ kind: 'unexpected', why: `${res.statusCode} ${text.slice(0, 120)}` });
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(refusedOrUnexpected(e)));
    req.end(body.body);
  });
}

function refusedOrUnexpected(e: NodeJS.ErrnoException): Outcome {
  const code = e.code ?? e.message;
  // The API process is down (restarting) or closed the connection as it stopped.
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(code)) return { kind: 'refused', why: code };
  return { kind: 'unexpected', why: code };
}

export async function runSoak(opts: SoakOptions = {}, log = console.error) {
  const seconds = opts.duration ?? 180;
  const batchEvery = opts.batchEverySeconds ?? 10;
  const batchImages = opts.batchImages ?? 100;
  const store = opts.store ?? 'sqlite';
  if (opts.restartRedisEvery && store !== 'redis') throw new Error('RESTART_REDIS_EVERY needs STORE=redis');

  // The images and the class `make evaluate`'s classifier gives each.
  const pngs = await Promise.all(Array.from({ length: IMAGES }, (_, i) => realSamplePng(i)));
  const classifier = await K49Classifier.load(opts.model ? path.resolve(opts.model) : TEST_MODEL);
  const expected = (await classifier.classify(Buffer.concat(await Promise.all(pngs.map((p) => decodeForModel(p, { maxPixels: 1e8 })))))).classes;
  classifier.dispose();
  const predictBodies = pngs.map((png, i) => multipartBody('file', [{ name: `${i}.png`, bytes: png }]));

  // The Redis server's process does not keep this one alive (RedisServer unrefs it): this does, until the end.
  const keepAlive = setInterval(() => {}, 1000);
  const redis = store === 'redis' ? await RedisServer.spawn() : null;
  const svc = new TestService(await freePort(), {
    ...(opts.model ? { MODEL: path.resolve(opts.model) } : {}),
    ...(redis ? { QUEUE_URL: redis.url() } : {}),
    LOG_LEVEL: 'warn',
    MAX_BATCH_FILES: String(Math.max(1000, batchImages)),
  });
  await svc.startApi();
  let worker: Proc = svc.startWorker({ LOG_LEVEL: 'warn' });

  const latencies: number[] = [];
  const refused: Record<string, number> = {};
  const unexpected: string[] = [];
  const predict = { sent: 0, answered: 0, lost: 0, wrong: 0, retried: 0 };
  const tasks: { id: string; batch: number; first: number }[] = [];

  /** Sends until answered (retrying refusals for RETRY_FOR_MS); null when it never was. */
  const send = async (url: () => string, body: { body: Buffer; contentType: string }, ok: number, what: string) => {
    const deadline = Date.now() + RETRY_FOR_MS;
    for (let tries = 0; ; tries++) {
      const o = await attempt(url(), body, ok);
      if (o.kind === 'answered') return { ...o, tries };
      if (o.kind === 'unexpected') {
        unexpected.push(`${what}: ${o.why}`);
        return null;
      }
      refused[`${what} ${o.why}`] = (refused[`${what} ${o.why}`] ?? 0) + 1;
      if (Date.now() > deadline) return null;
      await sleep(200);
    }
  };

  const predictOnce = async (i: number) => {
    const k = i % IMAGES;
    const t0 = performance.now();
    const answer = await send(() => `${svc.url}/predict`, predictBodies[k]!, 200, '/predict');
    if (!answer) {
      predict.lost++;
      return;
    }
    if (answer.tries > 0) predict.retried++;
    else latencies.push(performance.now() - t0);
    predict.answered++;
    if ((JSON.parse(answer.text) as { class_id: number }).class_id !== expected[k]) predict.wrong++;
  };
  const batchOnce = async (b: number) => {
    const first = (b * 37) % IMAGES;
    const files = Array.from({ length: batchImages }, (_, i) => ({ name: `${b}-${i}.png`, bytes: pngs[(first + i) % IMAGES]! }));
    const answer = await send(() => `${svc.url}/batch_predict`, multipartBody('files', files), 202, '/batch_predict');
    if (answer) tasks.push({ id: (JSON.parse(answer.text) as { task_id: string }).task_id, batch: b, first });
    else unexpected.push(`/batch_predict ${b}: never accepted`);
  };

  // The peak the rate is a share of, measured as `make bench` measures it: 32 autocannon connections.
  let peak: number | null = null;
  let rate = Number(opts.rate ?? 20);
  const share = /^(\d+(?:\.\d+)?)%$/.exec(String(opts.rate ?? ''));
  if (share) {
    await loadUrl(`${svc.url}/predict`, 4, 2, predictBodies[0]!); // warm-up
    peak = (await loadUrl(`${svc.url}/predict`, 32, PEAK_SECONDS, predictBodies[0]!)).requests_per_second;
    rate = Math.max(1, Math.round((peak * Number(share[1])) / 100));
    log(`soak: the peak /predict rate (32 connections, as make bench) is ${peak}/s; the soak sends ${share[1]}% of it, ${rate}/s`);
  }
  if (!Number.isFinite(rate) || rate <= 0) throw new Error(`RATE must be requests per second or a share of the peak like 50%; got '${opts.rate}'`);

  const memory: { t: number; api_mb: number; worker_mb: number; redis_mb?: number }[] = [];
  const sampleMemory = () =>
    memory.push({
      t: Math.round((Date.now() - started) / 1000),
      api_mb: Math.round(residentMb(svc.api?.child.pid)),
      worker_mb: Math.round(residentMb(worker.child.pid)),
      ...(redis ? { redis_mb: Math.round(residentMb(redis.pid)) } : {}),
    });
  const faults = { worker_kills: 0, api_restarts: 0, redis_restarts: 0 };
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  log(
    `soak: ${seconds} s on ${store}, /predict at ${rate}/s, a ${batchImages}-image batch every ${batchEvery} s` +
      `${opts.killWorkerEvery ? `, the worker killed every ${opts.killWorkerEvery} s` : ''}` +
      `${opts.restartApiEvery ? `, the API restarted every ${opts.restartApiEvery} s` : ''}` +
      `${opts.restartRedisEvery ? `, Redis restarted every ${opts.restartRedisEvery} s` : ''}`,
  );
  const started = Date.now();
  sampleMemory();
  const timers: NodeJS.Timeout[] = [];
  // Open loop: every 10 ms, the requests due by now.
  timers.push(
    setInterval(() => {
      const due = Math.floor(((Date.now() - started) / 1000) * rate);
      while (predict.sent < due) track(predictOnce(predict.sent++));
    }, 10),
  );
  let batches = 0;
  timers.push(setInterval(() => track(batchOnce(batches++)), batchEvery * 1000));
  timers.push(
    setInterval(() => {
      sampleMemory();
      const m = memory.at(-1)!;
      log(
        `  t=${m.t} s: ${predict.answered}/${predict.sent} answered, ${unexpected.length} unexpected errors; RSS API ${m.api_mb} MB, worker ${m.worker_mb} MB` +
          `${m.redis_mb ? `, Redis ${m.redis_mb} MB` : ''}; faults ${JSON.stringify(faults)}`,
      );
    }, 10_000),
  );
  /** A fault every `every` seconds, one at a time: one due while another runs goes right after it (never skipped). */
  let faultsDone: Promise<void> = Promise.resolve();
  const schedule = (every: number | undefined, fault: () => Promise<void>) => {
    if (!every) return;
    timers.push(
      setInterval(() => {
        faultsDone = faultsDone.then(() => fault().catch((e: Error) => void unexpected.push(`fault: ${e.message}`)));
        track(faultsDone);
      }, every * 1000),
    );
  };
  schedule(opts.killWorkerEvery, async () => {
    const dying = worker;
    dying.child.kill('SIGKILL');
    await dying.exited;
    worker = svc.startWorker({ LOG_LEVEL: 'warn' });
    faults.worker_kills++;
  });
  schedule(opts.restartApiEvery, async () => {
    await svc.stopApi('SIGTERM');
    await svc.startApi();
    faults.api_restarts++;
  });
  schedule(opts.restartRedisEvery, async () => {
    await redis!.stop();
    await redis!.start();
    faults.redis_restarts++;
  });

  await sleep(seconds * 1000);
  for (const t of timers) clearInterval(t);
  while (inFlight.size > 0) await Promise.all([...inFlight]);

  // Every accepted batch image: one result each, in upload order, the expected class.
  const batch = { accepted: tasks.length, images: tasks.length * batchImages, answered: 0, lost: 0, duplicated: 0, wrong: 0, out_of_order: 0 };
  for (const t of tasks) {
    const task = await waitFor(
      `task ${t.id}`,
      async () => {
        const body = TaskResponse.parse(await (await fetch(`${svc.url}/tasks/${t.id}`)).json());
        return body.status === 'completed' || body.status === 'failed' ? body : null;
      },
      300_000,
      200,
    );
    batch.duplicated += Math.max(0, task.results.length - batchImages);
    batch.lost += Math.max(0, batchImages - task.results.length);
    task.results.slice(0, batchImages).forEach((r, i) => {
      if (r.filename !== `${t.batch}-${i}.png`) batch.out_of_order++;
      if (!('class_id' in r)) batch.lost++;
      else {
        batch.answered++;
        if (r.class_id !== expected[(t.first + i) % IMAGES]) batch.wrong++;
      }
    });
  }
  sampleMemory();
  await svc.stopAll();
  await redis?.stop();
  clearInterval(keepAlive);

  const sorted = [...latencies].sort((a, b) => a - b);
  const byKind = (list: string[]) => {
    const counts: Record<string, number> = {};
    for (const e of list) counts[e.split(':')[0]!] = (counts[e.split(':')[0]!] ?? 0) + 1;
    return counts;
  };
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', node: process.version },
    command:
      `make soak DURATION=${seconds} STORE=${store} RATE=${opts.rate ?? rate}` +
      `${opts.killWorkerEvery ? ` KILL_WORKER_EVERY=${opts.killWorkerEvery}` : ''}` +
      `${opts.restartApiEvery ? ` RESTART_API_EVERY=${opts.restartApiEvery}` : ''}` +
      `${opts.restartRedisEvery ? ` RESTART_REDIS_EVERY=${opts.restartRedisEvery}` : ''}`,
    config: {
      seconds,
      store,
      predict_rate_per_s: rate,
      measured_peak_per_s: peak,
      batch_every_s: batchEvery,
      batch_images: batchImages,
      kill_worker_every_s: opts.killWorkerEvery ?? null,
      restart_api_every_s: opts.restartApiEvery ?? null,
      restart_redis_every_s: opts.restartRedisEvery ?? null,
    },
    faults,
    predict: {
      ...predict,
      p50_ms: Number(percentile(sorted, 0.5).toFixed(1)),
      p99_ms: Number(percentile(sorted, 0.99).toFixed(1)),
      max_ms: Number((sorted.at(-1) ?? NaN).toFixed(1)),
    },
    batches: batch,
    refused_while_down: refused,
    errors: { count: unexpected.length, by_kind: byKind(unexpected), first: unexpected.slice(0, 10) },
    memory: {
      api: memorySummary(memory.map((m) => m.api_mb)),
      worker: memorySummary(memory.map((m) => m.worker_mb)),
      ...(redis ? { redis: memorySummary(memory.map((m) => m.redis_mb ?? NaN)) } : {}),
      samples: memory,
    },
  };
  const out = path.resolve(opts.out ?? SOAK_RESULTS[store]);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  log(
    `soak done: /predict ${predict.answered}/${predict.sent} answered (${predict.lost} lost, ${predict.wrong} wrong, ${predict.retried} after a retry), ` +
      `p50 ${result.predict.p50_ms} ms, p99 ${result.predict.p99_ms} ms; batches: ${batch.answered}/${batch.images} images answered, ${batch.lost} lost, ` +
      `${batch.duplicated} duplicated, ${batch.wrong} wrong, ${batch.out_of_order} out of order; ${unexpected.length} unexpected errors; faults ${JSON.stringify(faults)}; ` +
      `API RSS ${result.memory.api.start_mb} -> ${result.memory.api.end_mb} MB (peak ${result.memory.api.peak_mb}). Written to ${out}`,
  );
  return result;
}

/** Whether a soak run met its bar: nothing lost, duplicated, wrong or out of order, no unexpected error. */
export function soakClean(r: Awaited<ReturnType<typeof runSoak>>): boolean {
  const b = r.batches;
  return r.predict.lost + r.predict.wrong + b.lost + b.duplicated + b.wrong + b.out_of_order + r.errors.count === 0;
}
