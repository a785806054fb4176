/**
 * Faults of the SQLite queue's disk, on a real (tmpfs) file system mounted
 * for the test: the disk filling up under a running service, and the queue's
 * volume read-only when the API starts. The API answers 503 with a detail
 * naming the cause, /predict keeps working, the service recovers by itself
 * once the disk is fixed, and every image accepted with a 202 ends with a
 * result. (Worker and API SIGKILL and Redis going down and back are in the
 * contract suite, test/contract/batch-service.test.ts, for both stores.)
 * Mounting needs root (as in CI); elsewhere the suite reports itself skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { realSamplePng } from '../helpers/images';
import { tempDir } from '../helpers/paths';
import { freePort, type Proc, TestService, upload, waitFor } from '../helpers/service';
import { pollTask } from '../helpers/tasks';

function tryMount(dir: string, sizeMb: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const remount = (dir: string, mode: 'ro' | 'rw') => execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'ignore' });

/** Fills the file system holding `dir` to the last byte; returns the filler file. */
function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    for (let n = 4096; n >= 1; n = Math.floor(n / 2)) {
      try {
        for (;;) writeSync(fd, chunk.subarray(0, n));
      } catch {
        /* next smaller piece */
      }
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}

async function files(n: number) {
  return Promise.all(Array.from({ length: n }, async (_, i) => ({ name: `${i}.png`, bytes: await realSamplePng(i) })));
}
const detail = async (r: Response) => (await r.json()) as { detail?: string; reason?: string };

describe('faults: the disk under the SQLite queue', function () {
  this.timeout(180000);
  const dir = tempDir('k49-fault-disk-');
  let mounted = false;
  let svc: TestService;
  let worker: Proc | null = null;

  before(function () {
    mounted = tryMount(dir, 16);
    if (!mounted) {
      console.log('      (skipped: mounting a tmpfs needs root)');
      this.skip();
    }
    svc = new TestService(0, {});
  });
  after(async () => {
    await svc?.stopAll();
    if (mounted) execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  });

  it('disk full: 503 naming the cause, /predict still answers, recovery once space is freed, nothing accepted is lost', async () => {
    svc = new TestService(await freePort(), { QUEUE_URL: `sqlite:${path.join(dir, 'tasks.db')}`, WORKER_BATCH_SIZE: '8' });
    await svc.startApi();
    const accepted = await upload(`${svc.url}/batch_predict`, 'files', await files(40));
    assert.equal(accepted.status, 202);
    const { task_id: before } = (await accepted.json()) as { task_id: string };

    const filler = fillDisk(dir);
    const refused = await upload(`${svc.url}/batch_predict`, 'files', await files(40));
    assert.equal(refused.status, 503);
    assert.match((await detail(refused)).detail!, /task store unavailable \(SQLITE_FULL\) \(the disk holding the queue is full\).*Retry later/);
    const health = await fetch(`${svc.url}/health`);
    assert.equal(health.status, 503);
    assert.match((await detail(health)).reason!, /SQLITE_FULL/);
    assert.equal((await upload(`${svc.url}/predict`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }])).status, 200);
    // A worker started now cannot write results: it retries instead of losing them.
    worker = svc.startWorker();
    await waitFor('the worker to hit the full disk', async () => worker!.logs().some((l) => l.msg === 'worker loop error; retrying'), 30000);

    rmSync(filler);
    await waitFor('the API to be healthy again', async () => (await fetch(`${svc.url}/health`)).ok, 20000);
    const again = await upload(`${svc.url}/batch_predict`, 'files', await files(10));
    assert.equal(again.status, 202);
    const { task_id: after } = (await again.json()) as { task_id: string };
    for (const [id, n] of [
      [before, 40],
      [after, 10],
    ] as const) {
      const t = await pollTask(svc.url, id);
      assert.equal(t.results.length, n);
      assert.ok(
        t.results.every((r) => 'class_id' in r),
        'every accepted image has its result',
      );
    }
    await svc.stopAll();
  });

  it('read-only volume at start: 503 naming the cause, /predict keeps working, recovery by itself once it is writable', async () => {
    // A task accepted while the volume was writable, then the service stopped and the volume turned read-only.
    svc = new TestService(await freePort(), { QUEUE_URL: `sqlite:${path.join(dir, 'tasks.db')}` });
    await svc.startApi();
    const res = await upload(`${svc.url}/batch_predict`, 'files', await files(20));
    assert.equal(res.status, 202);
    const { task_id } = (await res.json()) as { task_id: string };
    await svc.stopApi();
    remount(dir, 'ro');

    await svc.startApi({ healthy: false });
    const health = await fetch(`${svc.url}/health`);
    assert.equal(health.status, 503);
    assert.match((await detail(health)).reason!, /task store unavailable/);
    const refused = await upload(`${svc.url}/batch_predict`, 'files', await files(3));
    assert.equal(refused.status, 503);
    assert.match((await detail(refused)).detail!, /task store unavailable.*(readonly|read-only|unable to open)/i);
    assert.equal((await upload(`${svc.url}/predict`, 'file', [{ name: 'a.png', bytes: await realSamplePng(0) }])).status, 200);

    remount(dir, 'rw');
    await waitFor('the API to open the store by itself', async () => (await fetch(`${svc.url}/health`)).ok, 20000);
    svc.startWorker();
    const t = await pollTask(svc.url, task_id);
    assert.equal(t.results.length, 20);
    assert.ok(t.results.every((r) => 'class_id' in r));
  });
});
