/**
 * The serve image, built from the Dockerfile with podman (scripts/image.sh:
 * a debootstrap base with this machine's Node.js 20, no Docker engine, no
 * registry) and run as users would run it: the API container becomes healthy
 * by its own HEALTHCHECK, runs as the non-root user, answers /predict as
 * `make evaluate` does, and a worker container from the same image completes
 * a /batch_predict through the shared queue volume. A Dockerfile with a
 * COPY of a missing file fails to build.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PredictionRecord } from '../pipeline/evaluate/evaluate';
import { BatchAccepted, PredictResponse } from '../serve/schemas';
import { realSamplePng } from './helpers/images';
import { ROOT, tempDir } from './helpers/paths';
import { freePort, upload, waitFor } from './helpers/service';
import { evaluatedRealSample, pollTask } from './helpers/tasks';

const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? path.join(ROOT, 'deploy', 'podman', 'containers.conf') };
// stderr is kept out of the test output: without systemd, podman logs that it cannot schedule health checks (they are run by hand below).
const podman = (...args: string[]) => execFileSync('podman', args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
const buildImage = (dockerfile: string, tag: string) =>
  spawnSync('bash', [path.join(ROOT, 'scripts', 'image.sh'), dockerfile, tag], { cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

describe('the serve image (podman build and run)', function () {
  this.timeout(1_800_000);
  const name = `k49-test-${randomBytes(4).toString('hex')}`;
  const volume = `${name}-queue`;
  let image: string;
  let port: number;
  let evaluated: PredictionRecord[];
  const containers: string[] = [];

  before(async () => {
    const r = buildImage('Dockerfile', 'localhost/k49:serve');
    assert.equal(r.status, 0, `image build failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
    image = r.stdout.trim().split('\n').pop()!;
    port = await freePort();
    evaluated = await evaluatedRealSample();
  });
  after(() => {
    for (const c of containers) spawnSync('podman', ['rm', '-f', '-t', '2', c], { env });
    spawnSync('podman', ['volume', 'rm', '-f', volume], { env });
  });

  const run = (container: string, ...args: string[]) => {
    podman('run', '-d', '--name', container, '--network', 'host', '-e', `PORT=${port}`, '-e', 'HOST=127.0.0.1', '-v', `${volume}:/data/queue`, image, ...args);
    containers.push(container);
  };

  it('the API container becomes healthy by its HEALTHCHECK and runs as the non-root user k49', async () => {
    run(`${name}-api`);
    await waitFor(
      'the container HEALTHCHECK to pass',
      async () => spawnSync('podman', ['healthcheck', 'run', `${name}-api`], { env }).status === 0,
      120000,
      1000,
    );
    assert.equal(podman('exec', `${name}-api`, 'id', '-un'), 'k49');
    assert.notEqual(podman('exec', `${name}-api`, 'id', '-u'), '0');
    const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { status: string; model: { version: string } };
    assert.equal(health.status, 'ok');
    assert.equal(health.model.version, readFileSync(path.join(ROOT, 'artifacts', 'latest', 'train.json'), 'utf8').match(/"version": "([^"]+)"/)![1]);
  });

  it('/predict in the container answers what `make evaluate` predicts, image by image', async () => {
    for (let i = 0; i < 2092; i += 97) {
      const res = await upload(`http://127.0.0.1:${port}/predict`, 'file', [{ name: `${i}.png`, bytes: await realSamplePng(i) }]);
      assert.equal(res.status, 200);
      const body = PredictResponse.parse(await res.json());
      assert.equal(body.class_id, evaluated[i]!.predicted_class, `image ${i}`);
      assert.ok(Math.abs(body.confidence - evaluated[i]!.confidence) < 1e-4, `image ${i}`);
    }
  });

  it('a worker container from the same image completes a /batch_predict through the shared queue volume', async () => {
    run(`${name}-worker`, 'worker');
    const indexes = Array.from({ length: 40 }, (_, k) => k * 50);
    const files = await Promise.all(indexes.map(async (i) => ({ name: `${i}.png`, bytes: await realSamplePng(i) })));
    const res = await upload(`http://127.0.0.1:${port}/batch_predict`, 'files', files);
    assert.equal(res.status, 202);
    const task = await pollTask(`http://127.0.0.1:${port}`, BatchAccepted.parse(await res.json()).task_id, 120000);
    task.results.forEach((r, k) => {
      assert.ok('class_id' in r, JSON.stringify(r));
      assert.equal(r.class_id, evaluated[indexes[k]!]!.predicted_class, `file ${r.filename}`);
    });
    assert.equal(podman('exec', `${name}-worker`, 'id', '-un'), 'k49');
  });

  it('a Dockerfile with a COPY of a missing file fails to build', () => {
    const broken = path.join(tempDir('k49-dockerfile-'), 'Dockerfile.broken');
    writeFileSync(broken, readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace('COPY bin ./bin', 'COPY bin ./bin\nCOPY no-such-file.txt ./'));
    const r = buildImage(broken, 'localhost/k49:broken');
    assert.notEqual(r.status, 0, 'the broken Dockerfile built');
    assert.match(r.stdout + r.stderr, /no-such-file\.txt/);
  });
});
