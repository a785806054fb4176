/**
 * Clients of the replaced FastAPI system, unchanged: a client written from
 * that system's real wire format (its code, not its README) runs the
 * synchronous and the batch flows against a live API and worker, on each
 * task store. It reads only the old keys, as such a client does:
 *   GET /                -> {"status": "ok"} (its "mode" is in /health here: GET / keeps its documented shape)
 *   POST /predict        -> {"prediction_id", "character", "confidence", "time_ms"}
 *   POST /batch_predict  -> {"message": "Queued", "task_ids": [one per file, in order]}
 *   GET /tasks/{id}      -> {"status": "processing"} | {"status": "completed", "result": {...}}
 *                           | {"status": "failed", "error"}; 404 {"detail"} for an unknown id
 */
import assert from 'node:assert/strict';
import { classById } from '../../pipeline/core/classes';
import type { PredictionRecord } from '../../pipeline/evaluate/evaluate';
import { BatchAccepted, FileTaskResponse, PredictResponse } from '../../serve/schemas';
import { realSamplePng } from '../helpers/images';
import { freePort, TestService, upload, waitFor } from '../helpers/service';
import { STORE_BACKENDS } from '../helpers/stores';
import { evaluatedRealSample } from '../helpers/tasks';

/** What the old client does with a JSON answer: index it by key, failing like Python's KeyError on a missing one. */
type Json = Record<string, unknown>;
function key<T>(body: Json, name: string): T {
  if (!(name in body)) throw new Error(`KeyError '${name}' in ${JSON.stringify(body).slice(0, 300)}`);
  return body[name] as T;
}

class LegacyClient {
  constructor(private readonly base: string) {}

  async get(path: '/' | '/health'): Promise<Json> {
    return (await fetch(`${this.base}${path}`)).json() as Promise<Json>;
  }

  async predict(png: Buffer, name: string): Promise<{ id: number; character: string; confidence: number }> {
    const res = await upload(`${this.base}/predict`, 'file', [{ name, bytes: png, type: 'image/png' }]);
    assert.equal(res.status, 200);
    const data = (await res.json()) as Json;
    key<number>(data, 'time_ms');
    return { id: key(data, 'prediction_id'), character: key(data, 'character'), confidence: key(data, 'confidence') };
  }

  async batch(files: { name: string; bytes: Buffer }[]): Promise<string[]> {
    const res = await upload(`${this.base}/batch_predict`, 'files', files);
    assert.ok(res.ok, `batch_predict answered ${res.status}`);
    const data = (await res.json()) as Json;
    assert.equal(key(data, 'message'), 'Queued');
    return key<string[]>(data, 'task_ids');
  }

  async task(id: string): Promise<{ http: number; body: Json }> {
    const res = await fetch(`${this.base}/tasks/${id}`);
    return { http: res.status, body: (await res.json()) as Json };
  }

  /** Polls one per-file id until it leaves "processing", as the old web page does. */
  async waitTask(id: string): Promise<Json> {
    return waitFor(
      `per-file task ${id}`,
      async () => {
        const { http, body } = await this.task(id);
        assert.equal(http, 200);
        return key<string>(body, 'status') === 'processing' ? null : body;
      },
      60000,
      100,
    );
  }
}

for (const backend of STORE_BACKENDS) {
  describe(`clients of the FastAPI version, unchanged: ${backend.name} task store`, function () {
    this.timeout(180000);
    let svc: TestService;
    let client: LegacyClient;
    let evaluated: PredictionRecord[];

    before(async () => {
      svc = new TestService(await freePort(), { QUEUE_URL: await backend.queueUrl() });
      await svc.startApi();
      client = new LegacyClient(svc.url);
      evaluated = await evaluatedRealSample();
    });
    after(() => svc.stopAll());

    it('the OpenAPI document describes both shapes from the same schemas: old keys beside the documented ones, and the per-file view', async () => {
      const doc = (await (await fetch(`${svc.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: unknown }> }> }>>;
        components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
      };
      const { schemas } = doc.components;
      for (const k of ['prediction_id', 'character', 'prediction', 'class_id'])
        assert.ok(schemas.PredictResponse!.required!.includes(k), `PredictResponse.${k}`);
      for (const k of ['message', 'task_ids', 'task_id', 'status']) assert.ok(schemas.BatchAccepted!.required!.includes(k), `BatchAccepted.${k}`);
      assert.ok(schemas.FileTask && schemas.FileResult, 'the per-file view is its own schema');
      assert.deepEqual(doc.paths['/tasks/{task_id}']!.get!.responses['200']!.content['application/json']!.schema, {
        oneOf: [{ $ref: '#/components/schemas/Task' }, { $ref: '#/components/schemas/FileTask' }],
      });
      // The answers carry both: a new client's parse of the same body still works.
      const res = await upload(`${svc.url}/predict`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }]);
      const body = PredictResponse.parse(await res.json());
      assert.equal(body.prediction_id, body.class_id);
      assert.equal(body.character, body.prediction);
      assert.ok(BatchAccepted.shape.task_ids);
    });

    it('GET / says ok; /health carries the mode', async () => {
      assert.equal(key(await client.get('/'), 'status'), 'ok');
      assert.equal(key(await client.get('/health'), 'mode'), 'production');
    });

    it('the synchronous flow: 20 real images, each answer read from prediction_id and character, equal to make evaluate', async () => {
      for (let i = 0; i < 20; i++) {
        const index = i * 101;
        const answer = await client.predict(await realSamplePng(index), `${index}.png`);
        const expected = evaluated[index]!;
        assert.equal(answer.id, expected.predicted_class, `image ${index}`);
        assert.equal(answer.character, classById(expected.predicted_class).char);
        assert.ok(Math.abs(answer.confidence - expected.confidence) < 1e-4, `image ${index}: confidence ${answer.confidence} vs ${expected.confidence}`);
      }
    });

    it('the batch flow (no worker until the batch is stored): one id per file in upload order, each polled alone, a broken file as a per-file error, an unknown id as 404', async () => {
      const indexes = [0, 5, 300, 1200, 2091];
      const files = await Promise.all(indexes.map(async (i) => ({ name: `${i}.png`, bytes: await realSamplePng(i) })));
      files.splice(2, 0, { name: 'broken.png', bytes: Buffer.from('not an image at all') });
      const ids = await client.batch(files);
      assert.equal(ids.length, files.length);
      assert.equal(new Set(ids).size, ids.length, 'every file has its own id');
      // No worker yet: every file is still waiting.
      for (const id of ids) assert.deepEqual(await client.task(id), { http: 200, body: { status: 'processing' } });
      svc.startWorker();

      const answers = await Promise.all(ids.map((id) => client.waitTask(id)));
      for (const body of answers) FileTaskResponse.parse(body); // the shape /docs documents
      const broken = answers[2]!;
      assert.equal(key(broken, 'status'), 'completed');
      const brokenResult = key<Json>(broken, 'result');
      assert.equal(key(brokenResult, 'status'), 'error');
      assert.match(key<string>(brokenResult, 'message'), /\S/);

      const good = answers.filter((_, k) => k !== 2);
      good.forEach((body, k) => {
        assert.equal(key(body, 'status'), 'completed');
        const result = key<Json>(body, 'result');
        assert.equal(key(result, 'status'), 'success');
        const expected = evaluated[indexes[k]!]!;
        assert.equal(key(result, 'prediction_id'), expected.predicted_class, `file ${indexes[k]}`);
        assert.equal(key(result, 'character'), classById(expected.predicted_class).char);
        assert.ok(Math.abs(key<number>(result, 'confidence') - expected.confidence) < 1e-4);
      });

      const unknown = await client.task('4f0e2a8c-7b1d-4c3e-9a5f-6d2b8e1c0a97');
      assert.equal(unknown.http, 404);
      assert.match(key<string>(unknown.body, 'detail'), /^Task not found/);
    });
  });
}
