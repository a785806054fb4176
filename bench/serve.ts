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
import { freePort, type MetricSample, metricValue, realSample, realSamplePng, scrapeMetrics, TestService, waitFor } from './harness';
import { loadUrl, multipartBody, predictRequest } from './load';
import { batch256ImagesPerSecond } from './model';

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

export async function benchServing(modelDir: string, log = console.error, seconds = 10) {
  const sample = await realSample();
  const request = await predictRequest();

  const predict: Record<string, unknown>[] = [];
  for (const windowMs of [2, 0]) {
    const svc = new TestService(await freePort(), { MODEL: modelDir, BATCH_WINDOW_MS: String(windowMs), LOG_LEVEL: 'warn' });
    await svc.startApi();
    try {
      await loadUrl(`${svc.url}/predict`, 4, 2, request); // warm-up
      for (const c of [1, 32]) {
        const before = await scrapeMetrics(svc.url);
        const r = await loadUrl(`${svc.url}/predict`, c, seconds, request);
        // The service's own view of the same run, from /metrics.
        const m = serverSide(before, await scrapeMetrics(svc.url));
        log(
          `/predict batching ${windowMs > 0 ? `on (${windowMs} ms)` : 'off'}, concurrency ${c}: ${r.requests_per_second} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, errors ${r.errors}; ` +
            `server: ${m.served} served, model ${m.model_ms_per_call} ms per call, ${m.images_per_model_call} images per call`,
        );
        predict.push({ dynamic_batching: windowMs > 0, window_ms: windowMs, ...r, server: m });
      }
    } finally {
      await svc.stopAll();
    }
  }

  const page = await benchPage(modelDir, log);

  // 10,000 images through the queue with one worker, against the model's own batch-256 speed, in alternating
  // rounds: this machine's speed drifts by tens of per cent within a minute, and each round's ratio is of
  // two measurements taken seconds apart.
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
    const files = [];
    for (let i = 0; i < n; i++) files.push({ name: `${i}.png`, bytes: await realSamplePng(i % sample.count) });
    /** Uploads a prepared body (as `ab -p` sends one: the client's own multipart encoding is kept out of the figure); seconds to the 202 and to the task's completion. */
    const runBatch = async (upload: ReturnType<typeof multipartBody>) => {
      const t0 = performance.now();
      const res = await fetch(`${svc.url}/batch_predict`, { method: 'POST', headers: { 'content-type': upload.contentType }, body: upload.body });
      const text = await res.text();
      const uploadSeconds = (performance.now() - t0) / 1000;
      if (res.status !== 202) throw new Error(`batch upload answered ${res.status}: ${text}`);
      const { task_id } = JSON.parse(text) as { task_id: string };
      await untilCompleted(`${svc.url}/tasks/${task_id}`);
      return { uploadSeconds, total: (performance.now() - t0) / 1000 };
    };
    // A service in use, as for the /predict runs: the first batch after start (JIT, the queue database and the
    // model's first calls at other batch sizes) is reported apart, not in the median.
    const body = multipartBody('files', files);
    const warmUp = await runBatch(body);
    const rounds = [];
    for (let r = 0; r < BATCH_ROUNDS; r++) {
      const model = Math.round(batch256ImagesPerSecond(classifier, sample.images));
      const { uploadSeconds, total } = await runBatch(body);
      const round = {
        model_batch256_images_per_second: model,
        upload_seconds: Number(uploadSeconds.toFixed(2)),
        end_to_end_seconds: Number(total.toFixed(2)),
        end_to_end_images_per_second: Math.round(n / total),
        after_upload_images_per_second: Math.round(n / (total - uploadSeconds)),
        share_of_model_speed: Number((n / total / model).toFixed(3)),
      };
      log(
        `batch of ${n}, round ${r + 1}: model alone ${model} images/s at batch 256; upload ${round.upload_seconds} s, end to end ${round.end_to_end_seconds} s = ` +
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
    return { predict, page, batch };
  } finally {
    classifier.dispose();
    await svc.stopAll();
  }
}
