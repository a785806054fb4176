/**
 * The service over real HTTP: an API process and worker processes started
 * here, every row of the contract and every error code.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { PredictionRecord } from '../../pipeline/evaluate/evaluate';
import { HealthResponse, PredictResponse } from '../../serve/schemas';
import { decompressionBombPng } from '../helpers/bomb';
import { glyphVariants, realSample, realSamplePng } from '../helpers/images';
import { ROOT } from '../helpers/paths';
import { freePort, TestService, upload } from '../helpers/service';
import { evaluatedRealSample } from '../helpers/tasks';

describe('service (HTTP, separate API and worker processes)', function () {
  this.timeout(300000);
  let svc: TestService;
  let evaluated: PredictionRecord[];

  before(async () => {
    svc = new TestService(await freePort(), { LEASE_SECONDS: '3', WORKER_BATCH_SIZE: '16' });
    await svc.startApi();
    evaluated = await evaluatedRealSample();
  });
  after(() => svc.stopAll());

  describe('status endpoints', () => {
    it("answers the README's example image as the README shows", async () => {
      const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      const block = /<!-- example:predict[^\n]*\n```json\n(.+)\n```/.exec(readme)![1]!;
      const shown = JSON.parse(block.replace('"... 3 more"', 'null')) as {
        prediction: string;
        class_id: number;
        confidence: number;
        top_k: ({ class_id: number; confidence: number } | null)[];
        model_version: string;
      };
      const live = await upload(`${svc.url}/predict`, 'file', [{ name: 'example.png', bytes: readFileSync(path.join(ROOT, 'docs', 'example.png')) }]);
      assert.equal(live.status, 200);
      const answer = PredictResponse.parse(await live.json());
      assert.deepEqual([answer.prediction, answer.class_id, answer.model_version], [shown.prediction, shown.class_id, shown.model_version]);
      assert.equal(Number(answer.confidence.toFixed(4)), shown.confidence);
      shown.top_k.forEach((t, k) => {
        if (t) assert.deepEqual([answer.top_k[k]!.class_id, Number(answer.top_k[k]!.confidence.toFixed(4))], [t.class_id, t.confidence]);
      });
    });

    it("GET / answers JSON to API clients and the web page to browsers; /, /health and OpenAPI all say package.json's version", async () => {
      const json = await fetch(`${svc.url}/`);
      const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
      assert.deepEqual(await json.json(), { status: 'ok', version });
      assert.equal(((await (await fetch(`${svc.url}/health`)).json()) as { version: string }).version, version);
      assert.equal(((await (await fetch(`${svc.url}/openapi.json`)).json()) as { info: { version: string } }).info.version, version);
      const html = await fetch(`${svc.url}/`, { headers: { Accept: 'text/html,application/xhtml+xml' } });
      assert.match(html.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await html.text(), /<html/);
    });

    it('GET /health reports the model and the queue', async () => {
      const res = await fetch(`${svc.url}/health`);
      assert.equal(res.status, 200);
      const body = HealthResponse.parse(await res.json());
      assert.equal(body.status, 'ok');
      assert.ok(body.model && body.model.version.length > 0);
      assert.equal(typeof body.model.balanced_accuracy, 'number');
      assert.deepEqual(Object.keys(body.queue!).sort(), ['pending', 'processing']);
    });

    it('GET /openapi.json documents every path with its schemas, and /docs serves Swagger UI locally', async () => {
      const doc = (await (await fetch(`${svc.url}/openapi.json`)).json()) as {
        openapi: string;
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
        components: { schemas: Record<string, unknown> };
      };
      assert.match(doc.openapi, /^3\./);
      for (const [p, m] of [
        ['/', 'get'],
        ['/health', 'get'],
        ['/predict', 'post'],
        ['/batch_predict', 'post'],
        ['/tasks/{task_id}', 'get'],
      ] as const) {
        assert.ok(doc.paths[p]?.[m], `missing ${m.toUpperCase()} ${p}`);
      }
      for (const s of ['PredictResponse', 'BatchAccepted', 'Task', 'Health', 'Error', 'Candidate']) assert.ok(doc.components.schemas[s], `missing schema ${s}`);
      assert.ok(doc.paths['/predict']!.post!.responses['415']);
      const page = await (await fetch(`${svc.url}/docs`)).text();
      assert.match(page, /swagger-ui-bundle\.js/);
      assert.ok(!/https?:\/\/(?!127)/.test(page), 'docs page must not load from a CDN');
      assert.equal((await fetch(`${svc.url}/docs/swagger-ui-bundle.js`)).status, 200);
      assert.equal((await fetch(`${svc.url}/docs/swagger-ui.css`)).status, 200);
    });
  });

  describe('POST /predict', () => {
    it('answers the contract, with top_k defaulting to 5 and settable 1..49', async () => {
      const res = await upload(`${svc.url}/predict`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }]);
      assert.equal(res.status, 200);
      const body = PredictResponse.parse(await res.json());
      assert.equal(body.top_k.length, 5);
      assert.equal(body.top_k[0]!.class_id, body.class_id);
      assert.equal(body.prediction, body.top_k[0]!.prediction);
      assert.ok(body.confidence > 0 && body.confidence <= 1);
      const three = PredictResponse.parse(
        await (await upload(`${svc.url}/predict?top_k=3`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }])).json(),
      );
      assert.equal(three.top_k.length, 3);
      const all = PredictResponse.parse(await (await upload(`${svc.url}/predict?top_k=49`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }])).json());
      assert.equal(all.top_k.length, 49);
      assert.ok(Math.abs(all.top_k.reduce((a, c) => a + c.confidence, 0) - 1) < 1e-3);
      for (const bad of ['0', '50', 'abc']) {
        const r = await upload(`${svc.url}/predict?top_k=${bad}`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }]);
        assert.equal(r.status, 400, `top_k=${bad}`);
        assert.match(((await r.json()) as { detail: string }).detail, /top_k/);
      }
    });

    it('returns the 28x28 model input when asked (include_image=true)', async () => {
      const body = PredictResponse.parse(
        await (await upload(`${svc.url}/predict?include_image=true`, 'file', [{ name: 'a.png', bytes: await realSamplePng(3) }])).json(),
      );
      assert.match(body.model_input_png ?? '', /^data:image\/png;base64,/);
    });

    it('predicts, image by image, what `make evaluate` predicts for the real sample (PNG-encoded)', async () => {
      const { count } = await realSample();
      let same = 0;
      for (let i = 0; i < count; i++) {
        const body = (await (await upload(`${svc.url}/predict`, 'file', [{ name: `${i}.png`, bytes: await realSamplePng(i) }])).json()) as { class_id: number };
        if (body.class_id === evaluated[i]!.predicted_class) same++;
        else assert.fail(`image ${i}: API ${body.class_id}, evaluate ${evaluated[i]!.predicted_class}`);
      }
      assert.equal(same, count);
    });

    it('gives the same prediction for one glyph as black-on-white JPEG, white-on-black PNG and transparent PNG', async () => {
      for (const index of [0, 5, 17]) {
        const v = await glyphVariants(index);
        const predictions = [];
        for (const [name, bytes] of [
          ['g.jpg', v.blackOnWhiteJpeg],
          ['g.png', v.whiteOnBlackPng],
          ['t.png', v.transparentPng],
        ] as const) {
          const body = PredictResponse.parse(await (await upload(`${svc.url}/predict`, 'file', [{ name, bytes }])).json());
          predictions.push(body.class_id);
        }
        assert.equal(new Set(predictions).size, 1, `image ${index}: ${predictions.join(', ')}`);
      }
    });
  });

  describe('errors', () => {
    const detail = async (r: Response) => ((await r.json()) as { detail: string }).detail;

    it('400: missing field, wrong field name, empty file, not multipart, malformed task id', async () => {
      let r = await fetch(`${svc.url}/predict`, { method: 'POST', body: new FormData() });
      assert.equal(r.status, 400);
      assert.match(await detail(r), /field 'file' is missing/);
      r = await upload(`${svc.url}/predict`, 'image', [{ name: 'a.png', bytes: await realSamplePng(0) }]);
      assert.equal(r.status, 400);
      assert.match(await detail(r), /unexpected file field 'image'.*field 'file'/);
      r = await upload(`${svc.url}/predict`, 'file', [{ name: 'empty.png', bytes: Buffer.alloc(0) }]);
      assert.equal(r.status, 400);
      assert.match(await detail(r), /empty/);
      r = await fetch(`${svc.url}/predict`, { method: 'POST', body: 'hello', headers: { 'Content-Type': 'text/plain' } });
      assert.equal(r.status, 400);
      assert.match(await detail(r), /multipart\/form-data/);
      r = await upload(`${svc.url}/batch_predict`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }]);
      assert.equal(r.status, 400);
      r = await fetch(`${svc.url}/tasks/not-a-uuid`);
      assert.equal(r.status, 400);
      assert.match(await detail(r), /malformed task id/);
    });

    it('404: unknown task and unknown route', async () => {
      let r = await fetch(`${svc.url}/tasks/0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d`);
      assert.equal(r.status, 404);
      assert.match(await detail(r), /no task/);
      r = await fetch(`${svc.url}/nowhere`);
      assert.equal(r.status, 404);
    });

    it('405: a known path with the wrong method names the allowed ones, in the Allow header and the detail', async () => {
      for (const [method, route, allowed] of [
        ['GET', '/predict', 'POST'],
        ['GET', '/batch_predict', 'POST'],
        ['DELETE', '/health', 'HEAD, GET'],
        ['POST', '/health', 'HEAD, GET'],
        ['PUT', '/tasks/0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d', 'HEAD, GET'],
      ] as const) {
        const r = await fetch(`${svc.url}${route}`, { method });
        assert.equal(r.status, 405, `${method} ${route}`);
        assert.equal(r.headers.get('allow'), allowed, `${method} ${route}`);
        assert.match(r.headers.get('content-type') ?? '', /json/);
        assert.match(await detail(r), new RegExp(`${method} is not allowed on ${route.replace(/\//g, '\\/')}: use ${allowed}`));
      }
    });

    it('415: SVG, PDF and random bytes are refused without decoding', async () => {
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>');
      const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF');
      const noise = Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256));
      for (const [name, bytes] of [
        ['x.svg', svg],
        ['x.pdf', pdf],
        ['x.png', noise],
      ] as const) {
        const r = await upload(`${svc.url}/predict`, 'file', [{ name, bytes }]);
        assert.equal(r.status, 415, name);
        assert.match(await detail(r), /PNG, JPEG/);
      }
    });

    it('no stack trace reaches a client', async () => {
      const truncated = (await realSamplePng(0)).subarray(0, 40);
      const r = await upload(`${svc.url}/predict`, 'file', [{ name: 't.png', bytes: truncated }]);
      assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
      assert.ok(!/at .*\.(ts|js):\d+/.test(await r.text()));
    });
  });
});

describe('service limits', function () {
  this.timeout(120000);
  let svc: TestService;
  before(async () => {
    svc = new TestService(await freePort(), { MAX_FILE_BYTES: '20000', MAX_BATCH_FILES: '5', MAX_PIXELS: '1000000', MAX_REQUEST_BYTES: '60000' });
    await svc.startApi();
  });
  after(() => svc.stopAll());
  const detail = async (r: Response) => ((await r.json()) as { detail: string }).detail;

  it('413: file over MAX_FILE_BYTES', async () => {
    const big = Buffer.concat([await realSamplePng(0), Buffer.alloc(30000)]);
    const r = await upload(`${svc.url}/predict`, 'file', [{ name: 'big.png', bytes: big }]);
    assert.equal(r.status, 413);
    assert.match(await detail(r), /larger than the limit of 20 KB per file \(MAX_FILE_BYTES=20000\).*raise MAX_FILE_BYTES/);
  });

  it('413 for an 11 MB image under the default limit names it in MB and how to raise it', async () => {
    const open = new TestService(await freePort());
    await open.startApi();
    try {
      const r = await upload(`${open.url}/predict`, 'file', [{ name: 'big.png', bytes: Buffer.concat([await realSamplePng(0), Buffer.alloc(11 * 2 ** 20)]) }]);
      assert.equal(r.status, 413);
      assert.match(await detail(r), /larger than the limit of 10 MB per file \(MAX_FILE_BYTES=10485760\): send a smaller image.*or raise MAX_FILE_BYTES/);
    } finally {
      await open.stopAll();
    }
  });

  it('400: two images in one /predict request: one image per request, /batch_predict for several', async () => {
    const r = await upload(`${svc.url}/predict`, 'file', [
      { name: 'a.png', bytes: await realSamplePng(0) },
      { name: 'b.png', bytes: await realSamplePng(1) },
    ]);
    assert.equal(r.status, 400);
    assert.match(await detail(r), /one image per request.*\/batch_predict/);
  });

  it('413: more files than MAX_BATCH_FILES', async () => {
    const files: { name: string; bytes: Buffer }[] = [];
    for (let i = 0; i < 6; i++) files.push({ name: `${i}.png`, bytes: await realSamplePng(i) });
    const r = await upload(`${svc.url}/batch_predict`, 'files', files);
    assert.equal(r.status, 413);
    assert.match(await detail(r), /the limit is 5 \(MAX_BATCH_FILES\): send them in several batches, or raise MAX_BATCH_FILES/);
  });

  it('413: request over MAX_REQUEST_BYTES', async () => {
    const files: { name: string; bytes: Buffer }[] = [];
    for (let i = 0; i < 4; i++) files.push({ name: `${i}.png`, bytes: Buffer.concat([await realSamplePng(i), Buffer.alloc(19000)]) });
    const r = await upload(`${svc.url}/batch_predict`, 'files', files);
    assert.equal(r.status, 413);
    assert.match(await detail(r), /larger than the limit of 59 KB per request \(MAX_REQUEST_BYTES=60000\).*raise MAX_REQUEST_BYTES/);
  });

  it('413: pixel count over MAX_PIXELS, checked before decoding (a PNG declaring 50,000 x 50,000)', async () => {
    const r = await upload(`${svc.url}/predict`, 'file', [{ name: 'bomb.png', bytes: decompressionBombPng(50000, 50000) }]);
    assert.equal(r.status, 413);
    assert.match(await detail(r), /MAX_PIXELS/);
  });
});
