/**
 * A new model served without downtime: `latest` is switched to another
 * artifact while /predict runs at concurrency 16 (no failed request, each
 * client sees the old version, then only the new one, /health within 5 s);
 * a worker in the middle of a batch records one model version per image;
 * a broken artifact is refused and the old model keeps serving; SIGHUP
 * reloads.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pointLink } from '../../pipeline/core/artifacts';
import { BatchAccepted, HealthResponse, PredictResponse } from '../../serve/schemas';
import { realSamplePng } from '../helpers/images';
import { tempDir } from '../helpers/paths';
import { freePort, TEST_MODEL, TestService, upload, waitFor } from '../helpers/service';
import { getTask, pollTask } from '../helpers/tasks';

/** A copy of the test model under another version name (what `make train` would have produced). */
function artifactCopy(root: string, name: string, broken = false): { dir: string; version: string } {
  const dir = path.join(root, name);
  cpSync(realpathSync(TEST_MODEL), dir, { recursive: true });
  const trainJson = path.join(dir, 'train.json');
  const record = JSON.parse(readFileSync(trainJson, 'utf8')) as { version: string };
  record.version = `${record.version}-${name}`;
  writeFileSync(trainJson, JSON.stringify(record, null, 2));
  if (broken) writeFileSync(path.join(dir, 'model', 'model.json'), '{"modelTopology": ');
  return { dir, version: record.version };
}

describe('hot reload of the served model', function () {
  this.timeout(240000);
  let svc: TestService;
  let latest: string;
  let a: { dir: string; version: string }, b: { dir: string; version: string }, broken: { dir: string; version: string };
  const health = async () => HealthResponse.parse(await (await fetch(`${svc.url}/health`)).json());

  before(async () => {
    const root = tempDir('k49-reload-');
    a = artifactCopy(root, 'a');
    b = artifactCopy(root, 'b');
    broken = artifactCopy(root, 'broken', true);
    latest = path.join(root, 'latest');
    await pointLink(latest, a.dir);
    svc = new TestService(await freePort(), { MODEL: latest, MODEL_POLL_MS: '200', WORKER_BATCH_SIZE: '32', MAX_BATCH_FILES: '5000' });
    await svc.startApi();
    svc.startWorker();
  });
  after(() => svc.stopAll());

  it('switching latest under /predict at concurrency 16: no failure, old version then new, /health within 5 s', async () => {
    assert.equal((await health()).model!.version, a.version);
    const png = await realSamplePng(7);
    let running = true;
    const answers: { client: number; started: number; ended: number; status: number; version?: string }[] = [];
    const client = async (c: number) => {
      while (running) {
        const started = performance.now();
        const r = await upload(`${svc.url}/predict`, 'file', [{ name: 'x.png', bytes: png }]);
        const body = r.ok ? PredictResponse.parse(await r.json()) : null;
        answers.push({ client: c, started, ended: performance.now(), status: r.status, version: body?.model_version });
      }
    };
    const clients = Array.from({ length: 16 }, (_, c) => client(c));
    await new Promise((r) => setTimeout(r, 1000));
    const loadedBefore = (await health()).model!.loaded_at;
    const switched = performance.now();
    await pointLink(latest, b.dir);
    const seen = await waitFor(
      '/health to show the new version',
      async () => ((await health()).model!.version === b.version ? performance.now() : null),
      10000,
      50,
    );
    assert.ok(seen - switched <= 5000, `the new version showed after ${Math.round(seen - switched)} ms`);
    assert.notEqual((await health()).model!.loaded_at, loadedBefore);
    await new Promise((r) => setTimeout(r, 1000));
    running = false;
    await Promise.all(clients);

    assert.ok(answers.length > 100, `${answers.length} requests`);
    assert.deepEqual(
      answers.filter((x) => x.status !== 200),
      [],
      'no failed request',
    );
    for (let c = 0; c < 16; c++) {
      const versions = answers.filter((x) => x.client === c).map((x) => x.version);
      const firstNew = versions.indexOf(b.version);
      assert.ok(firstNew > 0, `client ${c} saw the old version, then the new one`);
      assert.ok(
        versions.slice(0, firstNew).every((v) => v === a.version) && versions.slice(firstNew).every((v) => v === b.version),
        `client ${c}: ${versions.join(' ')}`,
      );
    }
    assert.ok(
      answers.filter((x) => x.ended < switched).every((x) => x.version === a.version),
      'answered before the switch: the old model',
    );
    assert.ok(
      answers.filter((x) => x.started > seen).every((x) => x.version === b.version),
      'started after /health showed it: the new model',
    );
    await waitFor(
      'the old model to be freed once its requests were done',
      async () => svc.api!.logs().some((l) => l.msg === 'previous model freed' && l.model === a.version),
      10000,
      100,
    );
  });

  it('a worker in the middle of a batch finishes it, with one model version recorded per image', async () => {
    // The worker follows the previous test's switch to b on its own poll; a batch claimed before that would begin on a.
    const worker = svc.workers[0]!;
    const servedByWorker = () =>
      worker
        .logs()
        .filter((l) => l.msg === 'model loaded and warmed up' || l.msg === 'model swapped in')
        .at(-1)?.model;
    await waitFor('the worker to serve b', async () => servedByWorker() === b.version, 60000, 100);
    const files = await Promise.all(Array.from({ length: 3000 }, async (_, i) => ({ name: `${i}.png`, bytes: await realSamplePng(i % 2092) })));
    const { task_id } = BatchAccepted.parse(await (await upload(`${svc.url}/batch_predict`, 'files', files)).json());
    await waitFor('the batch to start', async () => (await getTask(svc.url, task_id)).progress.done > 0, 60000, 20);
    await pointLink(latest, a.dir);
    const task = await pollTask(svc.url, task_id, 120000);
    assert.equal(task.results.length, 3000);
    const versions = task.results.map((r) => ('model_version' in r ? r.model_version : undefined));
    assert.ok(
      versions.every((v) => v === a.version || v === b.version),
      'every image has one recorded version',
    );
    // One worker takes the images in order: the old version up to the swap, the new one after it.
    const firstA = versions.indexOf(a.version);
    assert.ok(firstA > 0, `the swap happened mid-batch (first new-version image: ${firstA})`);
    assert.ok(versions.slice(0, firstA).every((v) => v === b.version) && versions.slice(firstA).every((v) => v === a.version));
    await waitFor('the worker to log the swap', async () => worker.logs().some((l) => l.msg === 'model swapped in' && l.model === a.version), 10000, 100);
  });

  it('a broken artifact is refused with a logged reason and the old model keeps serving; SIGHUP reloads', async () => {
    await waitFor('the API on a', async () => (await health()).model!.version === a.version, 10000, 50);
    await pointLink(latest, broken.dir);
    await waitFor(
      'the refusal to be logged',
      async () => svc.api!.logs().some((l) => l.msg === 'model reload refused; the current model keeps serving' && l.model === realpathSync(broken.dir)),
      10000,
      100,
    );
    const h = await health();
    assert.equal(h.status, 'ok');
    assert.equal(h.model!.version, a.version);
    const r = await upload(`${svc.url}/predict`, 'file', [{ name: 'x.png', bytes: await realSamplePng(1) }]);
    assert.equal(r.status, 200);
    assert.equal(PredictResponse.parse(await r.json()).model_version, a.version);

    await pointLink(latest, a.dir); // unchanged target: no reload until asked
    await new Promise((res) => setTimeout(res, 600));
    const before = (await health()).model!.loaded_at;
    svc.api!.child.kill('SIGHUP');
    await waitFor('SIGHUP to reload the model', async () => (await health()).model!.loaded_at !== before, 10000, 50);
    assert.equal((await health()).model!.version, a.version);
  });
});
