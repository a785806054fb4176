/**
 * The asynchronous batch contract over real HTTP with separate API and
 * worker processes, run against each task store (QUEUE_URL=sqlite:... and
 * redis://...): ordered correct results, several workers on one queue with
 * every result exactly once, an upload refused part-way (its files are
 * stored as they arrive) leaving nothing behind, a worker or the API killed
 * with SIGKILL, and,
 * for Redis, the Redis server restarted in the middle of a batch.
 */
import assert from 'node:assert/strict';
import type { PredictionRecord } from '../../pipeline/evaluate/evaluate';
import { BatchAccepted, HealthResponse } from '../../serve/schemas';
import { realSamplePng } from '../helpers/images';
import { RedisServer } from '../helpers/redis';
import { freePort, type Proc, TestService, upload, waitFor } from '../helpers/service';
import { STORE_BACKENDS } from '../helpers/stores';
import { evaluatedRealSample, getTask, pollTask, UUID4 } from '../helpers/tasks';

const BIG_BATCH = 5000;

async function realFiles(n: number, name = (i: number) => `${i}.png`) {
  const files: { name: string; bytes: Buffer }[] = [];
  for (let i = 0; i < n; i++) files.push({ name: name(i), bytes: await realSamplePng(i % 2092) });
  return files;
}

async function submit(base: string, files: { name: string; bytes: Buffer }[]): Promise<string> {
  const res = await upload(`${base}/batch_predict`, 'files', files);
  assert.equal(res.status, 202, await res.clone().text());
  return BatchAccepted.parse(await res.json()).task_id;
}

/**
 * Workers that have loaded their model: uploads are stored (and claimed) while they stream in, so a worker
 * still starting could find the batch finished by the others.
 */
async function readyWorkers(svc: TestService, n: number): Promise<Proc[]> {
  const workers = Array.from({ length: n }, () => svc.startWorker());
  await Promise.all(workers.map((w) => waitFor('a worker to be ready', async () => w.output().includes('worker ready'), 60000)));
  return workers;
}

/** Images a worker says it classified, from its JSON log. */
const processed = (w: Proc) =>
  w
    .logs()
    .filter((l) => l.msg === 'batch done')
    .reduce((s, l) => s + (l.images as number), 0);

async function stop(...workers: Proc[]) {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  return Promise.all(workers.map((w) => w.exited));
}

for (const backend of STORE_BACKENDS) {
  describe(`batch service contract: ${backend.name} task store`, function () {
    this.timeout(300000);
    let svc: TestService;
    let evaluated: PredictionRecord[];
    /** Every result is there once, in upload order, and is what `make evaluate` predicts. */
    const assertAllCorrect = (results: { filename: string }[], n: number) => {
      assert.equal(results.length, n);
      results.forEach((r, i) => {
        assert.equal(r.filename, `${i}.png`);
        assert.ok('class_id' in r, `file ${i}: ${JSON.stringify(r)}`);
        assert.equal(r.class_id, evaluated[i % 2092]!.predicted_class, `file ${i}`);
      });
    };

    before(async () => {
      svc = new TestService(await freePort(), {
        QUEUE_URL: await backend.queueUrl(),
        LEASE_SECONDS: '3',
        WORKER_BATCH_SIZE: '32',
        MAX_BATCH_FILES: String(BIG_BATCH),
      });
      await svc.startApi();
      evaluated = await evaluatedRealSample();
    });
    after(() => svc.stopAll());

    it('a batch of 200 real images completes with the right predictions, one per file, in order', async () => {
      const worker = svc.startWorker();
      const files = await realFiles(200);
      files.splice(7, 0, { name: 'broken.png', bytes: Buffer.from('not an image') });
      const res = await upload(`${svc.url}/batch_predict`, 'files', files);
      assert.equal(res.status, 202);
      const accepted = BatchAccepted.parse(await res.json());
      assert.match(accepted.task_id, UUID4);
      assert.equal(res.headers.get('location'), `/tasks/${accepted.task_id}`);
      const task = await pollTask(svc.url, accepted.task_id);
      assert.deepEqual(task.progress, { done: 201, total: 201 });
      assert.ok('error' in task.results[7]! && task.results[7].filename === 'broken.png');
      assertAllCorrect(
        task.results.filter((_, k) => k !== 7),
        200,
      );
      assert.equal(await stop(worker).then(([code]) => code), 0);
    });

    it(`two workers complete a ${BIG_BATCH}-image batch with every image processed and answered exactly once`, async () => {
      const [a, b] = (await readyWorkers(svc, 2)) as [Proc, Proc];
      const id = await submit(svc.url, await realFiles(BIG_BATCH));
      const task = await pollTask(svc.url, id);
      assert.deepEqual(task.progress, { done: BIG_BATCH, total: BIG_BATCH });
      assertAllCorrect(task.results, BIG_BATCH);
      await stop(a, b);
      assert.equal(processed(a) + processed(b), BIG_BATCH, `a ${processed(a)} + b ${processed(b)}: no image twice`);
      assert.ok(processed(a) > 0 && processed(b) > 0, 'both workers took part');
    });

    it(`a ${BIG_BATCH}-image batch still completes exactly once when one of two workers is killed (SIGKILL) mid-batch`, async () => {
      const [victim, survivor] = (await readyWorkers(svc, 2)) as [Proc, Proc];
      // Workers start on an upload while it streams in, so the kill races the upload rather than following its 202.
      const submitted = submit(svc.url, await realFiles(BIG_BATCH));
      submitted.catch(() => undefined); // awaited below; the kill must not wait for it
      await waitFor('the victim to have classified images', async () => processed(victim) > 0, 120000, 5);
      victim.child.kill('SIGKILL');
      await victim.exited;
      const doneAtKill = processed(victim) + processed(survivor);
      assert.ok(doneAtKill < BIG_BATCH, `killed before the batch finished (${doneAtKill} of ${BIG_BATCH} done)`);
      const id = await submitted;
      const task = await pollTask(svc.url, id);
      assert.deepEqual(task.progress, { done: BIG_BATCH, total: BIG_BATCH });
      assertAllCorrect(task.results, BIG_BATCH);
      // Images the victim held under lease when it died were processed again by the survivor, and each still has
      // one result (above). The workers' logs cannot count them: the victim may have died after storing a batch's
      // results and before logging it.
      await stop(survivor);
    });

    it(`an upload refused part-way (file ${BIG_BATCH + 1} is over MAX_BATCH_FILES) answers 413 and leaves nothing queued, though a worker had started on its first files`, async () => {
      const [worker] = (await readyWorkers(svc, 1)) as [Proc];
      const res = await upload(`${svc.url}/batch_predict`, 'files', await realFiles(BIG_BATCH + 1));
      assert.equal(res.status, 413);
      assert.match(((await res.json()) as { detail: string }).detail, /MAX_BATCH_FILES/);
      const health = async () => HealthResponse.parse(await (await fetch(`${svc.url}/health`)).json()).queue;
      await waitFor(
        'the queue to be empty',
        async () => {
          const q = await health();
          return q && q.pending === 0 && q.processing === 0;
        },
        60000,
        100,
      );
      // The service goes on as before.
      assertAllCorrect((await pollTask(svc.url, await submit(svc.url, await realFiles(20)))).results, 20);
      await stop(worker);
    });

    it('a task accepted before the API is killed (SIGKILL) still completes', async () => {
      const id = await submit(svc.url, await realFiles(50));
      await svc.stopApi('SIGKILL');
      await svc.startApi();
      const worker = svc.startWorker();
      assertAllCorrect((await pollTask(svc.url, id)).results, 50);
      await stop(worker);
    });
  });
}

describe('batch service contract: Redis restarted during a batch', function () {
  this.timeout(300000);
  let redis: RedisServer;
  let svc: TestService;
  before(async () => {
    redis = await RedisServer.spawn(); // its own server: this test stops it
    svc = new TestService(await freePort(), { QUEUE_URL: redis.url(0), LEASE_SECONDS: '3', WORKER_BATCH_SIZE: '32' });
    await svc.startApi();
  });
  after(async () => {
    await svc.stopAll();
    await redis.stop();
  });

  it('answers 503 with a clear detail while Redis is down, then recovers by itself and loses nothing', async () => {
    const evaluated = await evaluatedRealSample();
    const worker = svc.startWorker();
    const id = await submit(svc.url, await realFiles(1000));
    await waitFor('some progress', async () => (await getTask(svc.url, id)).progress.done > 0, 60000, 5);

    await redis.stop();
    const down = await fetch(`${svc.url}/tasks/${id}`);
    assert.equal(down.status, 503);
    assert.match(((await down.json()) as { detail: string }).detail, /task store unavailable \(Redis at 127\.0\.0\.1:\d+\/0\): no connection.*Retry later/);
    const refused = await upload(`${svc.url}/batch_predict`, 'files', await realFiles(3));
    assert.equal(refused.status, 503);
    const health = await fetch(`${svc.url}/health`);
    assert.equal(health.status, 503);
    assert.match(HealthResponse.parse(await health.json()).reason ?? '', /Redis/);
    const predict = await upload(`${svc.url}/predict`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }]);
    assert.equal(predict.status, 200, '/predict does not need the queue');

    await redis.start();
    await waitFor('the API to be healthy again', async () => (await fetch(`${svc.url}/health`)).ok, 30000, 100);
    const task = await pollTask(svc.url, id);
    assert.deepEqual(task.progress, { done: 1000, total: 1000 });
    task.results.forEach((r, i) => {
      assert.ok('class_id' in r, `file ${i}: ${JSON.stringify(r)}`);
      assert.equal(r.class_id, evaluated[i]!.predicted_class);
    });
    await stop(worker);
    assert.equal(await worker.exited, 0);
  });
});
