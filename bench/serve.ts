/**
 * Serving benchmark (`make bench`, service part), on this machine:
 * /predict requests/s and p50/p99 latency at concurrency 1 and 32 with
 * dynamic batching on and off (autocannon), and a 10,000-image batch through
 * the queue: upload time and end-to-end images/s with one worker.
 */
import autocannon from 'autocannon';
import { freePort, metricValue, realSample, realSamplePng, scrapeMetrics, TestService, upload, waitFor, type MetricSample } from './harness';

function multipartBody(field: string, name: string, bytes: Buffer) {
  const boundary = '----k49bench' + Math.random().toString(16).slice(2);
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: image/png\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, bytes, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function load(url: string, connections: number, seconds: number, body: Buffer, contentType: string) {
  const r = await autocannon({ url, connections, duration: seconds, method: 'POST', headers: { 'content-type': contentType }, body });
  return {
    connections,
    requests_per_second: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    errors: r.errors + r.non2xx,
    requests: r.requests.total,
  };
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
  const { body, contentType } = multipartBody('file', 'sample.png', await realSamplePng(0));

  const predict: Record<string, unknown>[] = [];
  for (const windowMs of [2, 0]) {
    const svc = new TestService(await freePort(), { MODEL: modelDir, BATCH_WINDOW_MS: String(windowMs), LOG_LEVEL: 'warn' });
    await svc.startApi();
    try {
      await load(`${svc.url}/predict`, 4, 2, body, contentType); // warm-up
      for (const c of [1, 32]) {
        const before = await scrapeMetrics(svc.url);
        const r = await load(`${svc.url}/predict`, c, seconds, body, contentType);
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

  // 10,000 images through the queue with one worker.
  const n = 10000;
  const svc = new TestService(await freePort(), { MODEL: modelDir, MAX_BATCH_FILES: String(n), MAX_REQUEST_BYTES: String(200 * 1024 * 1024), LOG_LEVEL: 'warn' });
  await svc.startApi();
  try {
    const worker = svc.startWorker({ LOG_LEVEL: 'info' });
    await waitFor('worker ready', async () => worker.output().includes('worker ready'), 60000);
    const files = [];
    for (let i = 0; i < n; i++) files.push({ name: `${i}.png`, bytes: await realSamplePng(i % sample.count) });
    const t0 = performance.now();
    const res = await upload(`${svc.url}/batch_predict`, 'files', files);
    const uploadSeconds = (performance.now() - t0) / 1000;
    if (res.status !== 202) throw new Error(`batch upload answered ${res.status}: ${await res.text()}`);
    const { task_id } = (await res.json()) as { task_id: string };
    await waitFor('the 10,000-image batch', async () => ((await (await fetch(`${svc.url}/tasks/${task_id}`)).json()) as { status: string }).status === 'completed', 600000, 50);
    const total = (performance.now() - t0) / 1000;
    const batch = { images: n, upload_seconds: Number(uploadSeconds.toFixed(2)), end_to_end_seconds: Number(total.toFixed(2)), end_to_end_images_per_second: Math.round(n / total), workers: 1 };
    log(`batch of ${n}: upload ${batch.upload_seconds} s, end to end ${batch.end_to_end_seconds} s = ${batch.end_to_end_images_per_second} images/s (1 worker)`);
    return { predict, batch };
  } finally {
    await svc.stopAll();
  }
}
