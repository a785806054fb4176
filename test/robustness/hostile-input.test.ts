/**
 * Hostile input against a running server (API and worker as separate
 * processes): every case gets a 4xx JSON error or a correct result, the
 * server stays up, no temporary file is left behind (the API runs with a
 * private TMPDIR that must stay empty), file names are echoed back safely
 * and never used as paths, and resident memory after the suite stays within
 * RSS_BOUND_MB of where it started. Ends with bounded property-based
 * fuzzing (fast-check) of the preprocessing and of the upload path.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { decodeToK49 } from '../../pipeline/core/preprocess';
import { ImageDecodeError } from '../../pipeline/core/preprocess/decode';
import { BatchAccepted } from '../../serve/schemas';
import { decompressionBombPng } from '../helpers/bomb';
import { realSamplePng } from '../helpers/images';
import { tempDir } from '../helpers/paths';
import { freePort, metricValue, scrapeMetrics, TestService, upload } from '../helpers/service';
import { pollTask } from '../helpers/tasks';

/** Allowed growth of the API's resident memory over the whole suite. */
const RSS_BOUND_MB = 150;
const LIMITS = { MAX_FILE_BYTES: '300000', MAX_BATCH_FILES: '20', MAX_REQUEST_BYTES: '2000000', MAX_PIXELS: '4000000' };
const FUZZ_RUNS = 150;

type Body = { detail?: string; prediction?: string; class_id?: number };

describe('hostile input', function () {
  this.timeout(300000);
  let svc: TestService;
  const tmp = tempDir('k49-api-tmp-');
  let rssBefore = 0;

  /** Raw POST: any body, any content type. */
  const raw = (p: string, body: Buffer | string, contentType?: string) =>
    fetch(`${svc.url}${p}`, { method: 'POST', body, headers: contentType === undefined ? {} : { 'Content-Type': contentType } });

  /** The answer must be a correct result (200/202) or a JSON 4xx with a detail, never a 5xx. */
  async function expectHandled(res: Response, allowed: number[]): Promise<Body> {
    const text = await res.text();
    assert.ok(allowed.includes(res.status), `status ${res.status} not in ${allowed}: ${text.slice(0, 200)}`);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = JSON.parse(text) as Body;
    if (res.status >= 400) {
      assert.equal(typeof body.detail, 'string');
      assert.ok(!/at .*\.(ts|js):\d+/.test(text), 'no stack trace');
    }
    return body;
  }
  const predict = (name: string, bytes: Buffer) => upload(`${svc.url}/predict`, 'file', [{ name, bytes }]);

  before(async () => {
    svc = new TestService(await freePort(), { ...LIMITS, TMPDIR: tmp, WORKER_BATCH_SIZE: '16' });
    await svc.startApi();
    svc.startWorker();
    // Warm up (allocator, libvips caches) before taking the memory baseline.
    for (let i = 0; i < 20; i++) await predict('w.png', await realSamplePng(i));
    rssBefore = metricValue(await scrapeMetrics(svc.url), 'k49_process_resident_memory_bytes');
  });

  after(async () => {
    await svc.stopAll();
  });

  it('0-byte files: 400', async () => {
    assert.match((await expectHandled(await predict('empty.png', Buffer.alloc(0)), [400])).detail!, /empty/);
  });

  it('random bytes named .png / .jpg / .gif: 415, with the formats that are accepted', async () => {
    for (const name of ['x.png', 'x.jpg', 'x.gif', 'x']) {
      const body = await expectHandled(await predict(name, Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 7919) % 256))), [415]);
      assert.match(body.detail!, /PNG, JPEG/);
    }
  });

  it('truncated PNG and JPEG: 4xx', async () => {
    const png = await realSamplePng(3);
    const jpeg = await sharp(png).resize(200, 200).jpeg().toBuffer();
    for (const [name, bytes] of [
      ['t.png', png.subarray(0, png.length - 30)],
      ['t.png', png.subarray(0, 60)],
      ['t.jpg', jpeg.subarray(0, jpeg.length / 2)],
      ['t.jpg', jpeg.subarray(0, 20)],
    ] as const) {
      await expectHandled(await predict(name, bytes), [400, 415]);
    }
  });

  it('a PNG declaring 50,000 x 50,000 pixels (decompression bomb): 413 from the header, nothing decoded', async () => {
    assert.match((await expectHandled(await predict('bomb.png', decompressionBombPng(50000, 50000)), [413])).detail!, /MAX_PIXELS/);
  });

  it('an animated GIF: classified from its first frame', async () => {
    const frame = async (i: number) => sharp(await realSamplePng(i)).toBuffer();
    const gif = await sharp([await frame(5), await frame(6)], { join: { animated: true } })
      .gif()
      .toBuffer();
    assert.equal((await sharp(gif).metadata()).pages, 2);
    const fromGif = await expectHandled(await predict('anim.gif', gif), [200]);
    const fromPng = await expectHandled(await predict('first.png', await realSamplePng(5)), [200]);
    assert.equal(fromGif.class_id, fromPng.class_id);
  });

  it('SVG and PDF: 415 without being decoded', async () => {
    const svg = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><image href="file:///etc/passwd"/></svg>');
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF');
    for (const [name, bytes] of [
      ['a.svg', svg],
      ['a.png', svg],
      ['a.pdf', pdf],
      ['a.png', pdf],
    ] as const) {
      await expectHandled(await predict(name, bytes), [415]);
    }
  });

  it('over the byte limit and over the file-count limit: 413 naming the setting', async () => {
    const big = Buffer.concat([await realSamplePng(0), Buffer.alloc(400000)]);
    assert.match((await expectHandled(await predict('big.png', big), [413])).detail!, /MAX_FILE_BYTES/);
    const files = await Promise.all(Array.from({ length: 21 }, async (_, i) => ({ name: `${i}.png`, bytes: await realSamplePng(i) })));
    assert.match((await expectHandled(await upload(`${svc.url}/batch_predict`, 'files', files), [413])).detail!, /MAX_BATCH_FILES/);
    const heavy = Array.from({ length: 8 }, (_, i) => ({ name: `${i}.png`, bytes: Buffer.concat([big.subarray(0, 290000)]) }));
    assert.match((await expectHandled(await upload(`${svc.url}/batch_predict`, 'files', heavy), [413])).detail!, /MAX_REQUEST_BYTES/);
  });

  it('wrong field names, wrong or missing content type: 400', async () => {
    const png = await realSamplePng(0);
    assert.match((await expectHandled(await upload(`${svc.url}/predict`, 'image', [{ name: 'a.png', bytes: png }]), [400])).detail!, /field/);
    assert.match((await expectHandled(await upload(`${svc.url}/batch_predict`, 'file', [{ name: 'a.png', bytes: png }]), [400])).detail!, /field/);
    assert.match((await expectHandled(await raw('/predict', png, 'image/png'), [400])).detail!, /multipart\/form-data/);
    assert.match((await expectHandled(await raw('/predict', png), [400])).detail!, /multipart\/form-data/);
    await expectHandled(await raw('/batch_predict', '{"files": []}', 'application/json'), [400]);
  });

  it('malformed multipart bodies: 400', async () => {
    const b = 'XyZbOuNdArY';
    const cases: [string, string][] = [
      ['multipart/form-data', `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc\r\n--${b}--\r\n`], // no boundary parameter
      [`multipart/form-data; boundary=${b}`, `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc`], // never closed
      [`multipart/form-data; boundary=${b}`, 'this is not multipart at all'],
      [`multipart/form-data; boundary=${b}`, `--${b}\r\nno headers here\r\n--${b}--\r\n`],
      [`multipart/form-data; boundary=${b}`, ''],
    ];
    for (const [type, body] of cases) await expectHandled(await raw('/predict', body, type), [400]);
  });

  it('non-UTF-8, very long and path-traversal file names are echoed back cleaned, never used as paths', async () => {
    const png = await realSamplePng(1);
    const marker = `k49-pwned-${process.pid}`;
    const names = [`../../../../tmp/${marker}.png`, `..\\..\\${marker}.png`, `${'x'.repeat(5000)}.png`, 'a\nb.png', '名前.png'];
    const form = new FormData();
    for (const n of names) form.append('files', new Blob([png]), n);
    // A name in Latin-1 bytes (not UTF-8), written into the multipart header by hand.
    const b = 'k49boundary';
    const latin1 = Buffer.concat([
      Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="files"; filename="`),
      Buffer.from([0xe9, 0x74, 0xe9, 0x2e, 0x70, 0x6e, 0x67]),
      Buffer.from('"\r\nContent-Type: image/png\r\n\r\n'),
      png,
      Buffer.from(`\r\n--${b}--\r\n`),
    ]);
    for (const res of [
      await fetch(`${svc.url}/batch_predict`, { method: 'POST', body: form }),
      await raw('/batch_predict', latin1, `multipart/form-data; boundary=${b}`),
    ]) {
      const { task_id } = BatchAccepted.parse(await expectHandled(res, [202]));
      const task = await pollTask(svc.url, task_id);
      for (const r of task.results) {
        assert.ok(r.filename.length > 0 && r.filename.length <= 255, `bounded name (${r.filename.length})`);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what file names are cleaned of
        assert.ok(!/[\u0000-\u001f\u007f]/.test(r.filename), 'no control characters');
        assert.ok('class_id' in r, JSON.stringify(r));
      }
      if (task.results.length === 1) assert.equal(task.results[0]!.filename, '\ufffdt\ufffd.png', 'invalid UTF-8 shown as replacement characters');
      if (task.results.length === names.length) {
        // The upload parser (busboy) keeps only the last path component: the name is data, never a path.
        assert.equal(task.results[0]!.filename, `${marker}.png`);
        assert.ok(task.results.every((r) => !r.filename.includes('/')));
        assert.equal(task.results[4]!.filename, '名前.png');
      }
    }
    for (const dir of ['/tmp', path.resolve('..'), path.resolve('../..'), tmp]) assert.ok(!existsSync(path.join(dir, `${marker}.png`)));
    // Raw control characters inside a part header are not valid multipart: refused as a whole, with a reason.
    for (const n of ['a\u0000b.png', 'a\u0007b.png']) {
      const bad = new FormData();
      bad.append('files', new Blob([png]), n);
      assert.match((await expectHandled(await fetch(`${svc.url}/batch_predict`, { method: 'POST', body: bad }), [400])).detail!, /malformed multipart/);
    }
  });

  it('malformed and unknown task ids: 400 and 404', async () => {
    for (const id of ['abc', '../../etc/passwd', '%00', "1' OR '1'='1", 'x'.repeat(300)]) {
      await expectHandled(await fetch(`${svc.url}/tasks/${encodeURIComponent(id)}`), [400]);
    }
    await expectHandled(await fetch(`${svc.url}/tasks/6f1c2a3b-4d5e-4f60-8a7b-8c9d0e1f2a3b`), [404]);
  });

  it(`fuzzing (${FUZZ_RUNS} cases each): preprocessing never crashes; /predict answers 200 or a JSON 4xx`, async () => {
    const png = await realSamplePng(2);
    // Preprocessing alone: arbitrary bytes, and a real PNG with bytes flipped.
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
        try {
          const out = await decodeToK49(Buffer.from(bytes), { maxPixels: 4_000_000 });
          assert.equal(out.length, 784);
        } catch (e) {
          // The one kind of failure the API turns into a 4xx; anything else would be a 500.
          assert.ok(e instanceof ImageDecodeError, `unexpected ${String(e)}`);
        }
      }),
      { numRuns: FUZZ_RUNS, seed: 49 },
    );
    const mutate = fc.array(fc.tuple(fc.nat({ max: png.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(mutate, fc.constantFrom('a.png', 'b.jpg', 'c'), async (edits, name) => {
        const bytes = Buffer.from(png);
        for (const [i, v] of edits) bytes[i] = v;
        await expectHandled(await predict(name, bytes), [200, 400, 413, 415]);
      }),
      { numRuns: FUZZ_RUNS, seed: 49 },
    );
    // Upload path: random field names, file counts and contents.
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('file', 'files', 'image', ''), fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 4 }), async (field, blobs) => {
        const form = new FormData();
        for (const b of blobs) form.append(field || 'x', new Blob([Buffer.from(b)]), 'f.png');
        const res = await fetch(`${svc.url}/predict`, { method: 'POST', body: form });
        await expectHandled(res, [200, 400, 413, 415]);
      }),
      { numRuns: FUZZ_RUNS, seed: 49 },
    );
  });

  it(`afterwards: the server is up, no temporary file is left, and RSS grew by less than ${RSS_BOUND_MB} MB`, async () => {
    assert.equal((await fetch(`${svc.url}/health`)).status, 200);
    assert.equal(svc.api!.child.exitCode, null);
    // tsx (the TypeScript loader) keeps its compile cache there; uploads must leave nothing.
    assert.deepEqual(
      readdirSync(tmp).filter((f) => !/^tsx-\d+$/.test(f)),
      [],
      "the uploads left nothing in the API's TMPDIR",
    );
    const rssAfter = metricValue(await scrapeMetrics(svc.url), 'k49_process_resident_memory_bytes');
    const grewMb = (rssAfter - rssBefore) / 2 ** 20;
    console.log(`      RSS ${(rssBefore / 2 ** 20).toFixed(0)} MB -> ${(rssAfter / 2 ** 20).toFixed(0)} MB (${grewMb >= 0 ? '+' : ''}${grewMb.toFixed(0)} MB)`);
    assert.ok(grewMb < RSS_BOUND_MB, `RSS grew ${grewMb.toFixed(0)} MB`);
  });
});
