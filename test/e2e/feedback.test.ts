/**
 * Corrections over HTTP, on each task store: POST /feedback stores the
 * preprocessed image, the right class and the model's own answer (of the
 * served model, or of the batch result it corrects); bad input gets the
 * usual JSON errors; `k49 feedback` exports them as a K49 training split
 * (the same image once, latest label, no possible K49 test image) that
 * trains with the smoke config.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { classByChar } from '../../pipeline/core/classes';
import { loadSplit, PIXELS } from '../../pipeline/core/dataset';
import { decodeToK49 } from '../../pipeline/core/preprocess';
import { DEFAULT_TRAIN, mergeTrainConfig } from '../../pipeline/train/config';
import { train } from '../../pipeline/train/loop';
import { BatchAccepted, FeedbackAccepted, FeedbackStatsResponse, PredictResponse } from '../../serve/schemas';
import { kmnistTrainPng, realSamplePng } from '../helpers/images';
import { ROOT, tempDir } from '../helpers/paths';
import { freePort, TestService, upload } from '../helpers/service';
import { STORE_BACKENDS } from '../helpers/stores';
import { pollTask } from '../helpers/tasks';

/** POST /feedback with the image and form fields. */
async function correct(base: string, png: Buffer, fields: Record<string, string>, name = 'x.png'): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return fetch(`${base}/feedback`, { method: 'POST', body: form });
}
const detail = async (r: Response) => ((await r.json()) as { detail: string }).detail;
/** A page's SHA-256 as POST /pages gives it: here of no page that the export is given. */
const PAGE_SHA = 'ab'.repeat(32);
const feedbackStats = async (base: string) => FeedbackStatsResponse.parse(await (await fetch(`${base}/feedback/stats`)).json());

for (const backend of STORE_BACKENDS) {
  describe(`corrections (POST /feedback, export): ${backend.name} task store`, function () {
    this.timeout(180000);
    let svc: TestService;
    let queueUrl: string;

    before(async () => {
      queueUrl = await backend.queueUrl();
      svc = new TestService(await freePort(), { QUEUE_URL: queueUrl });
      await svc.startApi();
      svc.startWorker();
    });
    after(() => svc.stopAll());

    it("stores a correction by class_id or by label with the served model's own answer", async () => {
      const png = await realSamplePng(3);
      const predicted = PredictResponse.parse(await (await upload(`${svc.url}/predict`, 'file', [{ name: 'a.png', bytes: png }])).json());
      let r = await correct(svc.url, png, { class_id: '12' });
      assert.equal(r.status, 201, await r.clone().text());
      const a = FeedbackAccepted.parse(await r.json());
      assert.deepEqual([a.class_id, a.label], [12, 'す']);
      assert.deepEqual(a.model_answer, {
        class_id: predicted.class_id,
        prediction: predicted.prediction,
        confidence: a.model_answer.confidence,
        model_version: predicted.model_version,
      });
      assert.ok(Math.abs(a.model_answer.confidence - predicted.confidence) < 1e-6);
      r = await correct(svc.url, await realSamplePng(4), { label: 'ゆ' });
      assert.equal(r.status, 201);
      assert.equal(FeedbackAccepted.parse(await r.json()).class_id, 36);
    });

    it('rejects invalid labels, files and fields with JSON errors', async () => {
      const png = await realSamplePng(5);
      const cases: [Record<string, string>, number, RegExp][] = [
        [{}, 400, /class_id.*label/],
        [{ class_id: '49' }, 400, /class_id/],
        [{ class_id: '-1' }, 400, /class_id/],
        [{ class_id: 'x' }, 400, /class_id/],
        [{ label: 'A' }, 400, /invalid label 'A'/],
        [{ label: 'すす' }, 400, /invalid label/],
        [{ class_id: '0', label: 'す' }, 400, /disagree/],
        [{ class_id: '12', colour: 'red' }, 400, /invalid form field/],
        [{ class_id: '12', task_id: 'not-a-uuid', filename: 'a.png' }, 400, /task_id/],
        [{ class_id: '12', task_id: '0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d' }, 400, /filename/],
        [{ class_id: '12', task_id: '0f8fad5b-d9cb-4fa7-8b4c-2d3f5a6b7c8d', filename: 'a.png' }, 404, /no task/],
        [{ class_id: '12', page_sha256: PAGE_SHA }, 400, /both form fields 'page_sha256' and 'page_box'/],
        [{ class_id: '12', page_box: '1,2,3,4' }, 400, /both form fields 'page_sha256' and 'page_box'/],
        [{ class_id: '12', page_sha256: 'abc', page_box: '1,2,3,4' }, 400, /page_sha256.*64 hexadecimal digits/],
        [{ class_id: '12', page_sha256: PAGE_SHA, page_box: '1,2,3' }, 400, /page_box.*'x,y,w,h'/],
        [{ class_id: '12', page_sha256: PAGE_SHA, page_box: '1,2,0,4' }, 400, /page_box 1,2,0,4 is empty/],
      ];
      for (const [fields, status, message] of cases) {
        const r = await correct(svc.url, png, fields);
        assert.equal(r.status, status, JSON.stringify(fields));
        assert.match(await detail(r), message, JSON.stringify(fields));
      }
      let r = await correct(svc.url, Buffer.from('not an image'), { class_id: '3' });
      assert.equal(r.status, 415);
      r = await fetch(`${svc.url}/feedback`, {
        method: 'POST',
        body: (() => {
          const f = new FormData();
          f.append('class_id', '3');
          return f;
        })(),
      });
      assert.equal(r.status, 400);
      assert.match(await detail(r), /field 'file' is missing/);
      const blank = await (await import('sharp'))
        .default({ create: { width: 40, height: 40, channels: 3, background: '#fff' } })
        .png()
        .toBuffer();
      r = await correct(svc.url, blank, { class_id: '3' });
      assert.equal(r.status, 400);
      assert.match(await detail(r), /blank/);
    });

    it('a correction of a batch result records that result as the model answer', async () => {
      const files = [0, 1, 2].map((i) => ({ name: `page-${i}.png`, index: 10 + i }));
      const res = await upload(
        `${svc.url}/batch_predict`,
        'files',
        await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await realSamplePng(f.index) }))),
      );
      const { task_id } = BatchAccepted.parse(await res.json());
      const task = await pollTask(svc.url, task_id);
      const result = task.results[1]!;
      assert.ok('class_id' in result && result.model_version, JSON.stringify(result));
      const r = await correct(svc.url, await realSamplePng(11), { label: 'を', task_id, filename: 'page-1.png' });
      assert.equal(r.status, 201, await r.clone().text());
      const a = FeedbackAccepted.parse(await r.json());
      assert.deepEqual(a.model_answer, {
        class_id: result.class_id,
        prediction: result.prediction,
        confidence: result.confidence,
        model_version: result.model_version,
      });
      const missing = await correct(svc.url, await realSamplePng(11), { label: 'を', task_id, filename: 'nope.png' });
      assert.equal(missing.status, 404);
    });

    it('GET /feedback/stats counts per class and the error rate; make feedback exports a training split without test images that trains', async () => {
      // The same image corrected twice: one training example, with the latest label. A K49 training image
      // (kmnist-real): the real-sample images corrected so far are K49 test images, which the export leaves out.
      const { png } = await kmnistTrainPng(0);
      assert.equal((await correct(svc.url, png, { label: 'あ' })).status, 201);
      assert.equal((await correct(svc.url, png, { label: 'い' })).status, 201);
      const stats = await feedbackStats(svc.url);
      assert.equal(stats.feedback, 5);
      assert.equal(stats.corrections + stats.confirmations, 5);
      assert.equal(stats.images, 4);
      assert.deepEqual(
        stats.per_class.map((c) => [c.char, c.images]),
        [
          ['い', 1],
          ['す', 1],
          ['ゆ', 1],
          ['を', 1],
        ],
      );
      assert.ok(stats.model_error_rate !== null && stats.model_error_rate >= 0 && stats.model_error_rate <= 1);
      // Three more training images, each with its own class.
      const more = await Promise.all([1, 2, 3].map(kmnistTrainPng));
      for (const m of more) assert.equal((await correct(svc.url, m.png, { class_id: String(m.classId) })).status, 201);
      // One more, read on a page (the Page tab sends its page and box): without that page's scan the export cannot
      // check it by place, so it is left out.
      const onPage = await kmnistTrainPng(4);
      const r0 = await correct(svc.url, onPage.png, { class_id: String(onPage.classId), page_sha256: PAGE_SHA.toUpperCase(), page_box: '10,20,30,40' });
      assert.equal(r0.status, 201, await r0.clone().text());
      const answers = await feedbackStats(svc.url);
      const differing = answers.corrections;

      const out = tempDir('k49-feedback-');
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'k49.js'), 'feedback', '--data', out], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, QUEUE_URL: queueUrl },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`4 images with people's labels \\(9 answers, ${differing} of them corrections`));
      assert.match(
        r.stdout,
        /3 more left out as possible K49 test images \(3 by correlation >= 0\.85 with one of the 2092 images of \.\.\/shared\/data\/real-sample, 0 covering 0\.4 or more of where one lies on its page\)/,
      );
      assert.match(r.stdout, /1 more left out: characters corrected on pages whose scans were not given, so they could not be checked by place; PAGES=dir/);
      assert.match(
        r.stdout,
        /never train on them alone.*\n {2}make train evaluate DATA=data\/synth-npm,\.\.\/shared\/data\/kmnist-real:2,.*:2 CONFIG=configs\/finetune-real\.json/s,
      );
      const split = await loadSplit(out, 'train');
      assert.equal(split.count, 4);
      assert.deepEqual([...split.labels], [classByChar('い')!.index, ...more.map((m) => m.classId)]);
      // What was stored is the service's preprocessing of the upload.
      const expected = await decodeToK49(png, { maxPixels: 40_000_000 });
      assert.deepEqual([...split.images.subarray(0, PIXELS)], [...expected]);
      const csv = readFileSync(path.join(out, 'corrections.csv'), 'utf8').trim().split('\n');
      assert.equal(csv.length, 5);
      assert.match(csv[0]!, /,filename,page_sha256,page_x,page_y,page_w,page_h,corrected_at,times_corrected,test_correlation,test_cover$/);
      assert.match(
        csv[1]!,
        /,い,.*,,,,,,.*,2,0\.\d{4},0\.00$/,
        'the twice-corrected image, its latest label, no page, corrected 2 times, its nearest test image',
      );
      for (const row of csv.slice(1)) assert.ok(Number(row.split(',').at(-2)) < 0.85, row);
      const summary = JSON.parse(readFileSync(path.join(out, 'feedback.json'), 'utf8'));
      assert.deepEqual(
        [summary.images, summary.feedback, summary.dropped_as_possible_test_images, summary.left_out_pages_not_given, summary.leak_reference, summary.pages],
        [4, 9, 3, 1, { dir: '../shared/data/real-sample', images: 2092 }, null],
      );

      const trained = await train({
        data: out,
        out: tempDir('k49-feedback-model-'),
        config: mergeTrainConfig(DEFAULT_TRAIN, JSON.parse(readFileSync(path.join(ROOT, 'configs', 'smoke.json'), 'utf8'))),
        progress: false,
        log: () => {},
      });
      assert.ok(existsSync(path.join(trained.artifactDir, 'model', 'model.json')));
    });

    it("a label equal to the model's answer counts as a confirmation, not a correction", async () => {
      const before = await feedbackStats(svc.url);
      const png = await realSamplePng(30);
      const answer = PredictResponse.parse(await (await upload(`${svc.url}/predict`, 'file', [{ name: 'c.png', bytes: png }])).json());
      assert.equal((await correct(svc.url, png, { class_id: String(answer.class_id) })).status, 201);
      assert.equal((await correct(svc.url, await realSamplePng(31), { class_id: String((answer.class_id + 1) % 49) })).status, 201);
      const after = await feedbackStats(svc.url);
      assert.deepEqual(
        [after.feedback - before.feedback, after.confirmations - before.confirmations],
        [2, 1],
        `before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
      );
      assert.ok(after.corrections - before.corrections <= 1);
    });
  });
}
