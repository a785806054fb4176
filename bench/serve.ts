/**
 * Serving benchmark (`make bench`, service part), on this machine:
 * /predict requests/s and p50/p99 latency at concurrency 1 and 32 with
 * dynamic batching on and off (bench/load.ts, which `make load` points at any
 * server), and a 10,000-image batch through the queue: upload time and
 * end-to-end images/s with one worker, as a share of the model's own
 * batch-256 speed measured in the same run.
 */
import { K49Classifier } from '../pipeline/core/inference';
import { loadUrl, multipartBody, predictRequest } from './load';
import { batch256ImagesPerSecond } from './model';
import { freePort, metricValue, realSample, realSamplePng, scrapeMetrics, TestService, waitFor, type MetricSample } from './harness';

/** The model alone at batch 256 on real-sample images, as the queue worker runs it: the yardstick of the batch path. */
async function modelBatch256(modelDir: string): Promise<number> {
  const classifier = await K49Classifier.load(modelDir);
  try {
    return Math.round(batch256ImagesPerSecond(classifier, (await realSample()).images));
  } finally {
    classifier.dispose();
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

  // 10,000 images through the queue with one worker, against the model's own batch-256 speed measured just before.
  const model_batch256_images_per_second = await modelBatch256(modelDir);
  log(`model alone, batch 256: ${model_batch256_images_per_second} images/s`);
  const n = 10000;
  const svc = new TestService(await freePort(), { MODEL: modelDir, MAX_BATCH_FILES: String(n), MAX_REQUEST_BYTES: String(200 * 1024 * 1024), LOG_LEVEL: 'warn' });
  await svc.startApi();
  try {
    const worker = svc.startWorker({ LOG_LEVEL: 'info' });
    await waitFor('worker ready', async () => worker.output().includes('worker ready'), 60000);
    const files = [];
    for (let i = 0; i < n; i++) files.push({ name: `${i}.png`, bytes: await realSamplePng(i % sample.count) });
    // One prepared body, as `ab -p` sends it: the client's own multipart encoding is kept out of the figure.
    const upload = multipartBody('files', files);
    const t0 = performance.now();
    const res = await fetch(`${svc.url}/batch_predict`, { method: 'POST', headers: { 'content-type': upload.contentType }, body: upload.body });
    const text = await res.text();
    const uploadSeconds = (performance.now() - t0) / 1000;
    if (res.status !== 202) throw new Error(`batch upload answered ${res.status}: ${text}`);
    const { task_id } = JSON.parse(text) as { task_id: string };
    await waitFor('the 10,000-image batch', async () => ((await (await fetch(`${svc.url}/tasks/${task_id}`)).json()) as { status: string }).status === 'completed', 600000, 20);
    const total = (performance.now() - t0) / 1000;
    const endToEnd = n / total;
    const batch = {
      images: n,
      upload_seconds: Number(uploadSeconds.toFixed(2)),
      end_to_end_seconds: Number(total.toFixed(2)),
      end_to_end_images_per_second: Math.round(endToEnd),
      after_upload_images_per_second: Math.round(n / (total - uploadSeconds)),
      model_batch256_images_per_second,
      share_of_model_speed: Number((endToEnd / model_batch256_images_per_second).toFixed(3)),
      workers: 1,
    };
    log(
      `batch of ${n}: upload ${batch.upload_seconds} s, end to end ${batch.end_to_end_seconds} s = ${batch.end_to_end_images_per_second} images/s ` +
        `(${batch.after_upload_images_per_second} images/s after the upload; 1 worker) = ${batch.share_of_model_speed} of the model's batch-256 speed`,
    );
    return { predict, batch };
  } finally {
    await svc.stopAll();
  }
}
