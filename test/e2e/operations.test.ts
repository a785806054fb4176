/**
 * Operating the service: Prometheus metrics at /metrics, the optional API
 * key on POST endpoints, and the CORS policy (none by default, explicit
 * origins when configured).
 */
import assert from 'node:assert/strict';
import { BatchAccepted } from '../../serve/schemas';
import { realSamplePng } from '../helpers/images';
import { freePort, metricValue, scrapeMetrics, TestService, upload } from '../helpers/service';
import { pollTask } from '../helpers/tasks';

describe('operations: metrics, API key, CORS', function () {
  this.timeout(180000);
  let open: TestService;
  let guarded: TestService;
  before(async () => {
    open = new TestService(await freePort(), { WORKER_BATCH_SIZE: '16' });
    guarded = new TestService(await freePort(), { API_KEY: 's3cret-key', CORS_ORIGINS: 'https://app.example, https://other.example' });
    await Promise.all([open.startApi(), guarded.startApi()]);
  });
  after(async () => Promise.all([open.stopAll(), guarded.stopAll()]));

  it('/metrics counts requests by route pattern and status, times inference and batching, and reads the queue', async () => {
    const before = await scrapeMetrics(open.url);
    const png = await realSamplePng(0);
    for (let i = 0; i < 5; i++) assert.equal((await upload(`${open.url}/predict`, 'file', [{ name: 'a.png', bytes: png }])).status, 200);
    assert.equal((await fetch(`${open.url}/tasks/not-a-task`)).status, 400);
    assert.equal((await fetch(`${open.url}/no/such/path`)).status, 404);
    const worker = open.startWorker();
    const files = await Promise.all([0, 1, 2].map(async (i) => ({ name: `${i}.png`, bytes: await realSamplePng(i) })));
    files.push({ name: 'junk.png', bytes: Buffer.from('junk') });
    const { task_id } = BatchAccepted.parse(await (await upload(`${open.url}/batch_predict`, 'files', files)).json());
    await pollTask(open.url, task_id);
    worker.child.kill('SIGTERM');
    await worker.exited;

    const after = await scrapeMetrics(open.url);
    const delta = (name: string, labels: Record<string, string> = {}) => metricValue(after, name, labels) - metricValue(before, name, labels);
    assert.equal(delta('k49_http_requests_total', { route: '/predict', method: 'POST', status: '200' }), 5);
    assert.equal(delta('k49_http_requests_total', { route: '/tasks/:task_id', method: 'GET', status: '400' }), 1, 'task ids are not label values');
    assert.equal(delta('k49_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }), 1, 'unknown paths are not label values');
    assert.equal(delta('k49_http_request_duration_seconds_count', { route: '/predict', method: 'POST', status: '200' }), 5);
    assert.ok(metricValue(after, 'k49_http_request_duration_seconds_bucket', { route: '/predict', le: '+Inf' }) >= 5);
    const calls = delta('k49_inference_seconds_count');
    assert.ok(calls >= 1 && calls <= 5, `${calls} model calls for 5 requests`);
    assert.equal(delta('k49_predict_batch_size_sum'), 5, 'every /predict image went through one model call');
    assert.equal(delta('k49_batch_images_accepted_total'), 4);
    assert.equal(delta('k49_queue_images_answered', { outcome: 'ok' }), 3);
    assert.equal(delta('k49_queue_images_answered', { outcome: 'error' }), 1);
    assert.equal(metricValue(after, 'k49_queue_images', { state: 'pending' }), 0);
    assert.equal(metricValue(after, 'k49_queue_up'), 1);
    assert.ok(metricValue(after, 'k49_process_resident_memory_bytes') > 50e6);
    assert.match((await fetch(`${open.url}/metrics`)).headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  });

  it('with API_KEY set, POST endpoints need X-API-Key (401 otherwise) and GET endpoints stay open', async () => {
    const png = await realSamplePng(0);
    const post = (path: string, field: string, key?: string) => {
      const form = new FormData();
      form.append(field, new Blob([png]), 'a.png');
      return fetch(`${guarded.url}${path}`, { method: 'POST', body: form, headers: key === undefined ? {} : { 'X-API-Key': key } });
    };
    const missing = await post('/predict', 'file');
    assert.equal(missing.status, 401);
    assert.match(((await missing.json()) as { detail: string }).detail, /requires an API key: send it in the X-API-Key header/);
    const wrong = await post('/batch_predict', 'files', 'guess');
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { detail: string }).detail, /not valid/);
    assert.equal((await post('/predict', 'file', 's3cret-key')).status, 200);
    assert.equal((await post('/batch_predict', 'files', 's3cret-key')).status, 202);
    assert.equal((await fetch(`${guarded.url}/health`)).status, 200);
    const doc = (await (await fetch(`${open.url}/openapi.json`)).json()) as { components: { securitySchemes: Record<string, unknown> } };
    assert.ok(doc.components.securitySchemes.ApiKey, 'the API key is documented in the OpenAPI document');
  });

  it('CORS: no cross-origin access by default; CORS_ORIGINS allows exactly the listed origins', async () => {
    const preflight = (base: string, origin: string) =>
      fetch(`${base}/predict`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key' },
      });
    const allowed = await preflight(guarded.url, 'https://app.example');
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /X-API-Key/i);
    assert.equal((await preflight(guarded.url, 'https://evil.example')).headers.get('access-control-allow-origin'), null);
    assert.equal((await preflight(open.url, 'https://app.example')).headers.get('access-control-allow-origin'), null);
    const simple = await fetch(`${guarded.url}/health`, { headers: { Origin: 'https://other.example' } });
    assert.equal(simple.headers.get('access-control-allow-origin'), 'https://other.example');
  });
});
