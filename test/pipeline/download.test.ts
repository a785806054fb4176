import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { md5File } from '../../pipeline/core/checksum';
import { DownloadError, downloadK49, K49_FILES } from '../../pipeline/data/download';
import { OFFICIAL_DIR, tempDir } from '../helpers/paths';

/**
 * A local stand-in for the official server, serving the real official label
 * and class-map files (so their official md5s apply) plus a made-up file.
 * `cutAfter` makes the next response for a file stop half-way, once.
 */
function startServer(files: Record<string, Buffer>) {
  const state = { requests: [] as { name: string; range?: string }[], cutOnce: new Set<string>(), failWith: 0 };
  const server = http.createServer((req, res) => {
    const name = path.basename(req.url ?? '');
    state.requests.push({ name, range: req.headers.range });
    if (state.failWith) {
      res.writeHead(state.failWith).end('server error');
      return;
    }
    const body = files[name];
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const headers = { 'Content-Length': body.length - start, ...(m ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) };
    res.writeHead(m ? 206 : 200, headers);
    if (state.cutOnce.delete(name)) {
      res.write(body.subarray(start, start + Math.floor((body.length - start) / 2)));
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    res.end(body.subarray(start));
  });
  return new Promise<{ url: string; state: typeof state; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/k49/`, state, close: () => server.close() }),
    ),
  );
}

describe('download stage', () => {
  const real = ['k49-train-labels.npz', 'k49-test-labels.npz', 'k49_classmap.csv'];
  const fake = Buffer.from('x'.repeat(300000));
  const files: Record<string, Buffer> = Object.fromEntries(real.map((f) => [f, readFileSync(path.join(OFFICIAL_DIR, f))]));
  files['extra.bin'] = fake;
  const sums: Record<string, string> = {
    ...Object.fromEntries(real.map((f) => [f, K49_FILES[f]!])),
    'extra.bin': createHash('md5').update(fake).digest('hex'),
  };
  const quiet = { progress: false, log: () => {} };
  let server: Awaited<ReturnType<typeof startServer>>;
  beforeEach(async () => (server = await startServer(files)));
  afterEach(() => server.close());

  it('downloads and verifies the official files against their official md5s', async () => {
    const dir = tempDir();
    const fetched = await downloadK49(dir, { ...quiet, baseUrl: server.url, files: sums });
    assert.deepEqual(fetched.sort(), Object.keys(sums).sort());
    for (const f of real) assert.equal(await md5File(path.join(dir, f)), K49_FILES[f]);
    assert.ok(!existsSync(path.join(dir, 'extra.bin.part')));
  });

  it('does not fetch files that are already present and verified', async () => {
    const dir = tempDir();
    await downloadK49(dir, { ...quiet, baseUrl: server.url, files: sums });
    server.state.requests.length = 0;
    assert.deepEqual(await downloadK49(dir, { ...quiet, baseUrl: server.url, files: sums }), []);
    assert.equal(server.state.requests.length, 0);
  });

  it('resumes after a cut connection with a Range request', async () => {
    const dir = tempDir();
    server.state.cutOnce.add('k49-train-labels.npz');
    await downloadK49(dir, { ...quiet, baseUrl: server.url, files: sums });
    const tries = server.state.requests.filter((r) => r.name === 'k49-train-labels.npz');
    assert.equal(tries.length, 2);
    assert.match(tries[1]!.range ?? '', /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(tries[1]!.range!)![0]) > 0);
    assert.equal(await md5File(path.join(dir, 'k49-train-labels.npz')), K49_FILES['k49-train-labels.npz']);
  });

  it('resumes a partial file left by an earlier run', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'extra.bin.part'), fake.subarray(0, 1000));
    await downloadK49(dir, { ...quiet, baseUrl: server.url, files: { 'extra.bin': sums['extra.bin']! } });
    assert.deepEqual(server.state.requests, [{ name: 'extra.bin', range: 'bytes=1000-' }]);
    assert.deepEqual(readFileSync(path.join(dir, 'extra.bin')), fake);
  });

  it('rejects and deletes a download whose md5 is wrong, keeping the old file absent', async () => {
    const dir = tempDir();
    await assert.rejects(
      downloadK49(dir, { ...quiet, baseUrl: server.url, files: { 'extra.bin': '0'.repeat(32) } }),
      /md5 [0-9a-f]{32} does not match the official 0{32}/,
    );
    assert.ok(!existsSync(path.join(dir, 'extra.bin')));
    assert.ok(!existsSync(path.join(dir, 'extra.bin.part')));
  });

  it('re-downloads a corrupted local copy', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'k49_classmap.csv'), 'index,codepoint,char\n0,U+3042,X\n');
    await downloadK49(dir, { ...quiet, baseUrl: server.url, files: { 'k49_classmap.csv': K49_FILES['k49_classmap.csv']! } });
    assert.equal(await md5File(path.join(dir, 'k49_classmap.csv')), K49_FILES['k49_classmap.csv']);
  });

  it('reports a server error with the status and what to do', async () => {
    server.state.failWith = 503;
    await assert.rejects(downloadK49(tempDir(), { ...quiet, baseUrl: server.url, files: sums }), (e: Error) => {
      return e instanceof DownloadError && /HTTP 503/.test(e.message) && /run `make data` again/.test(e.message);
    });
  });

  it('fails fast without network, saying what to download, from where, and where to put it', async () => {
    const dir = tempDir();
    const started = Date.now();
    await assert.rejects(downloadK49(dir, { ...quiet, baseUrl: 'http://k49-no-such-host.invalid/k49/' }), (e: Error) => {
      assert.match(e.message, /k49-train-imgs\.npz/);
      assert.match(e.message, /http:\/\/k49-no-such-host\.invalid\/k49\/k49-test-imgs\.npz/);
      assert.ok(e.message.includes(path.resolve(dir)));
      return true;
    });
    assert.ok(Date.now() - started < 10000);
  });
});
