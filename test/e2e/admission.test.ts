/**
 * What the API takes on at once (serve/api/admission.ts): the per-client rate
 * limit (429 with Retry-After, per client, off by default) and the limit on
 * bytes being received across uploads (503 with Retry-After before the body
 * is read; the upload goes through once retried).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { multipartBody } from '../../bench/load';
import { realSamplePng } from '../helpers/images';
import { freePort, metricValue, scrapeMetrics, TestService } from '../helpers/service';

describe('admission: rate limits and the bytes received at once', function () {
  this.timeout(120000);
  let limited: TestService;
  let narrow: TestService;
  before(async () => {
    limited = new TestService(await freePort(), { RATE_LIMIT: '2', RATE_LIMIT_BURST: '3', TRUST_PROXY: '1' });
    narrow = new TestService(await freePort(), { MAX_RECEIVING_BYTES: String(1024 * 1024) });
    await Promise.all([limited.startApi(), narrow.startApi()]);
  });
  after(async () => Promise.all([limited.stopAll(), narrow.stopAll()]));

  it('RATE_LIMIT: a client past its burst gets 429 with Retry-After, other clients and GET requests do not, and it is served again after waiting', async () => {
    const png = await realSamplePng(0);
    const predict = (client: string) => {
      const form = new FormData();
      form.append('file', new Blob([png]), 'a.png');
      return fetch(`${limited.url}/predict`, { method: 'POST', body: form, headers: { 'X-Forwarded-For': client } });
    };
    const statuses: number[] = [];
    let refused: Response | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await predict('203.0.113.1');
      statuses.push(res.status);
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
    }
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200], 'the burst is served');
    assert.ok(
      statuses.slice(3).every((s) => s === 429),
      `then refused: ${statuses}`,
    );
    const wait = Number(refused!.headers.get('Retry-After'));
    assert.ok(wait >= 1 && wait <= 2, `Retry-After ${wait}`);
    assert.match(
      ((await refused!.json()) as { detail: string }).detail,
      /2 POST requests per second per client \(RATE_LIMIT=2, bursts of 3: RATE_LIMIT_BURST\); retry in \d s/,
    );
    assert.equal((await predict('198.51.100.7')).status, 200, 'another client has its own bucket');
    assert.equal((await fetch(`${limited.url}/health`)).status, 200, 'GET requests are not limited');
    const metrics = await scrapeMetrics(limited.url);
    assert.equal(metricValue(metrics, 'k49_rate_limited_total'), statuses.filter((s) => s === 429).length);
    await new Promise((r) => setTimeout(r, wait * 1000));
    assert.equal((await predict('203.0.113.1')).status, 200, 'served again after Retry-After');
  });

  it('MAX_RECEIVING_BYTES: an upload that would pass it while another is arriving gets 503 with Retry-After before its body is read, and goes through once retried', async () => {
    const big = multipartBody('files', [{ name: 'big.png', bytes: Buffer.alloc(700 * 1024, 7) }]);
    // The first upload sends its headers and half its body, then waits.
    const first = http.request(`${narrow.url}/batch_predict`, {
      method: 'POST',
      headers: { 'content-type': big.contentType, 'content-length': String(big.body.length) },
    });
    const firstAnswer = new Promise<number>((resolve, reject) => {
      first.on('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      first.on('error', reject);
    });
    first.write(big.body.subarray(0, big.body.length / 2));
    const post = () => fetch(`${narrow.url}/batch_predict`, { method: 'POST', headers: { 'content-type': big.contentType }, body: big.body });
    let receiving = 0;
    for (let i = 0; i < 50 && receiving === 0; i++) {
      receiving = metricValue(await scrapeMetrics(narrow.url), 'k49_receiving_bytes');
      if (receiving === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(receiving, big.body.length, 'the first upload is counted while it arrives');
    const deferred = await post();
    assert.equal(deferred.status, 503);
    assert.equal(deferred.headers.get('Retry-After'), '2');
    assert.match(((await deferred.json()) as { detail: string }).detail, /would pass its limit of 1 MB \(MAX_RECEIVING_BYTES=1048576\): retry in 2 s/);
    first.end(big.body.subarray(big.body.length / 2));
    assert.equal(await firstAnswer, 202);
    const retried = await post();
    assert.equal(retried.status, 202, 'the retried upload is taken once the first has landed');
    const metrics = await scrapeMetrics(narrow.url);
    assert.equal(metricValue(metrics, 'k49_uploads_deferred_total'), 1);
    assert.equal(metricValue(metrics, 'k49_receiving_bytes'), 0);
  });
});
