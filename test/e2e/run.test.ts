/**
 * `make run` (API + worker in the foreground) and the replaced system's
 * client flow with curl, unchanged; then Ctrl-C stops both cleanly.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { realSamplePng } from '../helpers/images';
import { tempDir } from '../helpers/paths';
import { freePort, startProcess, waitFor } from '../helpers/service';

const curl = (...args: string[]) => JSON.parse(execFileSync('curl', ['-s', ...args], { encoding: 'utf8' })) as Record<string, unknown>;

describe('make run: API + worker, the old client flow, clean Ctrl-C', function () {
  this.timeout(120000);

  it('serves /predict and completes a batch, then stops both processes on SIGINT', async () => {
    const port = await freePort();
    const dir = tempDir('k49-run-');
    const run = startProcess('run', { PORT: String(port), HOST: '127.0.0.1', QUEUE_URL: `sqlite:${path.join(dir, 'tasks.db')}` });
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the service', async () => (await fetch(`${base}/health`)).ok, 60000, 200);
    const [x, a, b] = [path.join(dir, 'x.png'), path.join(dir, 'a.png'), path.join(dir, 'b.png')];
    writeFileSync(x, await realSamplePng(0));
    writeFileSync(a, await realSamplePng(1));
    writeFileSync(b, await realSamplePng(2));

    const predicted = curl('-F', `file=@${x}`, `${base}/predict`);
    assert.equal(typeof predicted.prediction, 'string');
    const accepted = curl('-F', `files=@${a}`, '-F', `files=@${b}`, `${base}/batch_predict`);
    assert.equal(accepted.status, 'processing');
    const task = await waitFor('the batch', async () => {
      const t = curl(`${base}/tasks/${accepted.task_id}`) as { status: string; results: { filename: string }[] };
      return t.status === 'completed' ? t : null;
    });
    assert.deepEqual(
      task.results.map((r) => r.filename),
      ['a.png', 'b.png'],
    );

    run.child.kill('SIGINT');
    const code = await Promise.race([run.exited, new Promise((r) => setTimeout(() => r('timeout'), 20000))]);
    assert.equal(code, 0, run.output().slice(-2000));
    const out = run.output();
    assert.match(out, new RegExp(`^K49 service ready: open http://127\\.0\\.0\\.1:${port}/ in a browser`, 'm'), 'a plain line with the URL to open');
    assert.match(out, /"msg":"stopped"/, 'the API reports a clean stop');
    assert.match(out, /"msg":"worker stopped"/, 'the worker reports a clean stop');
    assert.match(out, /"method":"POST","path":"\/predict","status":200,"duration_ms":/, 'structured request logs');
  });
});
