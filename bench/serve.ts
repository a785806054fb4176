/**
 * Serving benchmark (`make bench`, service part), on this machine:
 * /predict requests/s and p50/p99 latency at concurrency 1 and 32 with
 * dynamic batching on and off (bench/load.ts, which `make load` points at any
 * server), and a 10,000-image batch through the queue (after a first one,
 * reported apart): upload time and end-to-end images/s with one worker, as a
 * share of the model's own batch-256 speed (on real-sample images, as the
 * worker runs it), in alternating rounds of the two; the median round is the
 * figure.
 */
import sharp from 'sharp';
import { K49Classifier } from '../pipeline/core/inference';
import { scanFonts } from '../pipeline/synth/fonts';
import { renderPage } from '../pipeline/synth/pages';
import { measureInBrowser } from './browser';
import { freePort, type MetricSample, median, metricValue, processCpuSeconds, realSample, realSamplePng, scrapeMetrics, TestService, waitFor } from './harness';
import { type LoadResult, loadUrl, multipartBody, predictRequest } from './load';
import { batch256ImagesPerSecond } from './model';
import { startPeer } from './peer';

/** Measured rounds of the batch run, after its first batch: each the model alone at batch 256, then the 10,000-image batch. */
const BATCH_ROUNDS = 3;

/**
 * Polls a task until it is completed: every 10 ms once it is nine-tenths done, less often before, so the
 * load generator's own requests (which share the machine) stay few without coarsening the end time.
 */
async function untilCompleted(taskUrl: string, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = (await (await fetch(taskUrl)).json()) as { status: string; progress: { done: number; total: number } };
    if (task.status === 'completed') return;
    if (task.status === 'failed' || Date.now() > deadline) throw new Error(`the batch task did not complete: ${JSON.stringify(task).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, task.progress.done < 0.9 * task.progress.total ? 100 : 10));
  }
}

/** What /metrics says about one load run: requests served, model time per call, images per (dynamic) batch. */
function serverSide(before: MetricSample[], after: MetricSample[]) {
  const d = (name: string, labels: Record<string, string> = {}) => metricValue(after, name, labels) - metricValue(before, name, labels);
  const calls = d('k49_inference_seconds_count');
  return {
    served: d('k49_http_requests_total', { route: '/predict', status: '200' }),
    model_ms_per_call: calls ? Number(((1000 * d('k49_inference_seconds_sum')) / calls).toFixed(2)) : null,
    images_per_model_call: calls ? Number((d('k49_predict_batch_size_sum') / calls).toFixed(1)) : null,
  };
}

/** Pages read by POST /pages: a rendered 2,000 x 3,000 page (held-out fonts, 9 columns), the median of 5 after a warm-up. */
const PAGE_ROUNDS = 5;

async function benchPage(modelDir: string, log: (line: string) => void) {
  const scan = renderPage(
    scanFonts(['debian']).available.filter((f) => f.split === 'test'),
    { width: 2000, height: 3000, size: 150, columns: 9, seed: 'bench' },
  );
  // As a scan comes: a JPEG (the rendered page's grain makes its PNG larger than a scan would be).
  const jpeg = await sharp(scan.png).jpeg({ quality: 90 }).toBuffer();
  const svc = new TestService(await freePort(), { MODEL: modelDir, LOG_LEVEL: 'warn' });
  await svc.startApi();
  try {
    const post = async () => {
      const t0 = performance.now();
      const upload = multipartBody('file', [{ name: 'page.jpg', bytes: jpeg }]);
      const res = await fetch(`${svc.url}/pages`, { method: 'POST', headers: { 'content-type': upload.contentType }, body: upload.body });
      const answer = (await res.json()) as { characters?: unknown[] };
      if (res.status !== 200) throw new Error(`POST /pages answered ${res.status}: ${JSON.stringify(answer).slice(0, 300)}`);
      return { seconds: (performance.now() - t0) / 1000, characters: answer.characters!.length };
    };
    await post();
    const runs = [];
    for (let r = 0; r < PAGE_ROUNDS; r++) runs.push(await post());
    const times = runs.map((x) => x.seconds).sort((a, b) => a - b);
    const result = {
      width: scan.width,
      height: scan.height,
      characters: runs[0]!.characters,
      jpeg_bytes: jpeg.length,
      median_seconds: Number(times[Math.floor(times.length / 2)]!.toFixed(3)),
      seconds: runs.map((x) => Number(x.seconds.toFixed(3))),
    };
    log(`POST /pages of a ${scan.width} x ${scan.height} page (${result.characters} characters): median ${result.median_seconds} s of ${PAGE_ROUNDS}`);
    return result;
  } finally {
    await svc.stopAll();
  }
}

/** Rounds of /predict load at each concurrency (after a warm-up), alternating with the replaced system when it runs; the median round is the figure. */
const PREDICT_ROUNDS = 3;
const CONCURRENCIES = [1, 32];

/** Each figure of several runs at one concurrency as its median over the runs (errors and requests summed). */
function medianOfRuns<T extends LoadResult>(runs: T[]) {
  const of = (pick: (r: T) => number) => median(runs.map(pick));
  return {
    connections: runs[0]!.connections,
    requests_per_second: of((r) => r.requests_per_second),
    p50_ms: of((r) => r.p50_ms),
    p90_ms: of((r) => r.p90_ms),
    p99_ms: of((r) => r.p99_ms),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    requests: runs.reduce((n, r) => n + r.requests, 0),
    rounds: runs.map((r) => r.requests_per_second),
  };
}

/**
 * /predict at concurrency 1 and 32 with dynamic batching on, in PREDICT_ROUNDS rounds, each round
 * running this service and then the replaced system (when `peer` is given) with the same request;
 * then one round with batching off. Medians, and this service's ratio to the peer at each concurrency.
 */
async function benchPredict(modelDir: string, seconds: number, peerWanted: boolean, log: (line: string) => void) {
  const request = await predictRequest();
  const peer = peerWanted ? await startPeer(request, log) : null;
  if (peer && peer.url === null) log(`the replaced system could not be started, so this run measures ours alone: ${peer.reason}`);
  const predict: Record<string, unknown>[] = [];
  const peerRuns: LoadResult[][] = CONCURRENCIES.map(() => []);
  try {
    for (const windowMs of [2, 0]) {
      const svc = new TestService(await freePort(), { MODEL: modelDir, BATCH_WINDOW_MS: String(windowMs), LOG_LEVEL: 'warn' });
      await svc.startApi();
      const comparing = windowMs > 0 && peer?.url ? peer.url : null;
      try {
        await loadUrl(`${svc.url}/predict`, 4, 2, request); // warm-up
        if (comparing) await loadUrl(`${comparing}/predict`, 4, 2, request);
        const ours = CONCURRENCIES.map(() => [] as (LoadResult & { server: ReturnType<typeof serverSide> })[]);
        for (let round = 0; round < (windowMs > 0 ? PREDICT_ROUNDS : 1); round++) {
          for (const [k, c] of CONCURRENCIES.entries()) {
            const before = await scrapeMetrics(svc.url);
            const r = await loadUrl(`${svc.url}/predict`, c, seconds, request);
            // The service's own view of the same run, from /metrics.
            ours[k]!.push({ ...r, server: serverSide(before, await scrapeMetrics(svc.url)) });
            const mode = windowMs > 0 ? `on (${windowMs} ms)` : 'off';
            log(
              `/predict batching ${mode}, concurrency ${c}, round ${round + 1}: ${r.requests_per_second} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, errors ${r.errors}`,
            );
            if (comparing) {
              const p = await loadUrl(`${comparing}/predict`, c, seconds, request);
              peerRuns[k]!.push(p);
              log(
                `  the replaced system, concurrency ${c}, round ${round + 1}: ${p.requests_per_second} req/s, p50 ${p.p50_ms} ms, p99 ${p.p99_ms} ms, errors ${p.errors}`,
              );
            }
          }
        }
        for (const runs of ours) {
          const server = {
            served: runs.reduce((n, r) => n + r.server.served, 0),
            model_ms_per_call: median(runs.map((r) => r.server.model_ms_per_call ?? Number.NaN)),
            images_per_model_call: median(runs.map((r) => r.server.images_per_model_call ?? Number.NaN)),
          };
          predict.push({ dynamic_batching: windowMs > 0, window_ms: windowMs, ...medianOfRuns(runs), server });
        }
      } finally {
        await svc.stopAll();
      }
    }
  } finally {
    if (peer?.url) await peer.stop();
  }
  if (!peer) return { predict, peer: null };
  if (peer.url === null) return { predict, peer: { started: false as const, reason: peer.reason } };
  const theirs = peerRuns.map((runs) => medianOfRuns(runs));
  const versus = theirs.map((p) => {
    const mine = predict.find((x) => x.dynamic_batching && x.connections === p.connections) as { requests_per_second: number };
    return { connections: p.connections, ratio: Number((mine.requests_per_second / p.requests_per_second).toFixed(2)) };
  });
  for (const v of versus) log(`/predict, concurrency ${v.connections}: ${v.ratio}x the replaced system's requests/s (medians of ${PREDICT_ROUNDS} rounds)`);
  return { predict, peer: { started: true as const, system: 'the replaced FastAPI + PyTorch system (`../shared/peer/k49-fastapi`)', predict: theirs, versus } };
}

export async function benchServing(modelDir: string, log = console.error, seconds = 10, peerWanted = false) {
  const { predict, peer } = await benchPredict(modelDir, seconds, peerWanted, log);
  const page = await benchPage(modelDir, log);
  const batch = await benchBatch(modelDir, log);
  const browser = await benchBrowser(modelDir, log);
  return { predict, peer, page, batch, browser };
}

/** In-browser recognition (bench/browser.ts) against this service: first-load transfer, equality with /predict, offline stroke answers. */
export async function benchBrowser(modelDir: string, log: (line: string) => void) {
  const svc = new TestService(await freePort(), { MODEL: modelDir, LOG_LEVEL: 'warn' });
  await svc.startApi();
  try {
    return await measureInBrowser(svc.url, { images: 200, characters: 10 }, log);
  } finally {
    await svc.stopAll();
  }
}

/**
 * 10,000 images through the queue with one worker, against the model's own batch-256 speed, in rounds: this
 * machine's speed drifts by tens of per cent within a minute, so each round's batch is compared with the
 * model measured just before and just after it.
 */
async function benchBatch(modelDir: string, log: (line: string) => void) {
  const sample = await realSample();
  const n = 10000;
  const classifier = await K49Classifier.load(modelDir);
  const svc = new TestService(await freePort(), {
    MODEL: modelDir,
    MAX_BATCH_FILES: String(n),
    MAX_REQUEST_BYTES: String(200 * 1024 * 1024),
    LOG_LEVEL: 'warn',
  });
  await svc.startApi();
  try {
    const worker = svc.startWorker({ LOG_LEVEL: 'info' });
    await waitFor('worker ready', async () => worker.output().includes('worker ready'), 60000);
    const modelThreads = (worker.logs().find((l) => l.msg === 'worker ready')?.model_threads ?? []) as number[];
    const files = [];
    for (let i = 0; i < n; i++) files.push({ name: `${i}.png`, bytes: await realSamplePng(i % sample.count) });
    /** Uploads a prepared body (as `ab -p` sends one: the client's own multipart encoding is kept out of the figure); seconds to the 202 and to the task's completion. */
    const api = svc.api!.child.pid!,
      workerPid = worker.child.pid!;
    const runBatch = async (upload: ReturnType<typeof multipartBody>) => {
      const [api0, worker0, client0] = [processCpuSeconds(api), processCpuSeconds(workerPid, modelThreads), process.cpuUsage()];
      const t0 = performance.now();
      const res = await fetch(`${svc.url}/batch_predict`, { method: 'POST', headers: { 'content-type': upload.contentType }, body: upload.body });
      const text = await res.text();
      const uploadSeconds = (performance.now() - t0) / 1000;
      if (res.status !== 202) throw new Error(`batch upload answered ${res.status}: ${text}`);
      const { task_id } = JSON.parse(text) as { task_id: string };
      await untilCompleted(`${svc.url}/tasks/${task_id}`);
      const total = (performance.now() - t0) / 1000;
      const [api1, worker1, client1] = [processCpuSeconds(api), processCpuSeconds(workerPid, modelThreads), process.cpuUsage(client0)];
      const cpu = {
        api_event_loop: api1.main - api0.main,
        api_other_threads: api1.other - api0.other,
        worker_event_loop: worker1.main - worker0.main,
        worker_model_threads: worker1.model - worker0.model,
        // V8's garbage collector and compiler threads, libuv's pool: the runtime's work for the event loop's.
        worker_runtime_threads: worker1.other - worker0.other,
        client: (client1.user + client1.system) / 1e6,
      };
      return { uploadSeconds, total, cpu: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Number(v.toFixed(2))])) as typeof cpu };
    };
    // A service in use, as for the /predict runs: the first batch after start (JIT, the queue database and the
    // model's first calls at other batch sizes) is reported apart, not in the median.
    const body = multipartBody('files', files);
    const warmUp = await runBatch(body);
    /** The model alone at batch 256, 7,680 images after one call's warm-up (a couple of seconds): images/s, and CPU-seconds per image. */
    const modelAlone = async (calls = 30) => {
      const cpu0 = process.cpuUsage();
      const speed = await batch256ImagesPerSecond(classifier, sample.images, calls);
      const cpu = process.cpuUsage(cpu0);
      return { speed, cpuPerImage: (cpu.user + cpu.system) / 1e6 / (256 * (calls + 1)) };
    };
    await modelAlone(); // its first calls in this process (memory arenas, caches) are slower and not measured
    const rounds = [];
    for (let r = 0; r < BATCH_ROUNDS; r++) {
      // The model measured just before and just after the batch, and the batch compared with their mean: the
      // machine's speed drifts within seconds, and one measure taken before could catch a slow or a fast moment.
      const before = await modelAlone();
      const { uploadSeconds, total, cpu } = await runBatch(body);
      const after = await modelAlone();
      const model = Math.round((before.speed + after.speed) / 2);
      const modelCpuPerImage = (before.cpuPerImage + after.cpuPerImage) / 2;
      const round = {
        model_batch256_images_per_second: model,
        model_before_and_after: [Math.round(before.speed), Math.round(after.speed)],
        upload_seconds: Number(uploadSeconds.toFixed(2)),
        end_to_end_seconds: Number(total.toFixed(2)),
        end_to_end_images_per_second: Math.round(n / total),
        after_upload_images_per_second: Math.round(n / (total - uploadSeconds)),
        share_of_model_speed: Number((n / total / model).toFixed(3)),
        // CPU seconds for the batch's images by process and thread, and what the model alone takes for as many (its runs before and after, scaled).
        cpu_seconds: { ...cpu, model_alone: Number((modelCpuPerImage * n).toFixed(2)) },
      };
      log(
        `batch of ${n}, round ${r + 1}: model alone ${model} images/s at batch 256 (${round.model_before_and_after.join(' before, ')} after); upload ${round.upload_seconds} s, end to end ${round.end_to_end_seconds} s = ` +
          `${round.end_to_end_images_per_second} images/s (1 worker) = ${round.share_of_model_speed} of the model's speed`,
      );
      rounds.push(round);
    }
    const median = [...rounds].sort((x, y) => x.share_of_model_speed - y.share_of_model_speed)[Math.floor(rounds.length / 2)]!;
    const batch = {
      images: n,
      ...median,
      workers: 1,
      first_batch_after_start: { end_to_end_seconds: Number(warmUp.total.toFixed(2)), end_to_end_images_per_second: Math.round(n / warmUp.total) },
      rounds,
    };
    log(
      `batch of ${n}: the median round's share of the model's batch-256 speed: ${batch.share_of_model_speed} (rounds: ${rounds.map((x) => x.share_of_model_speed).join(', ')})`,
    );
    return batch;
  } finally {
    classifier.dispose();
    await svc.stopAll();
  }
}
