import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { classCounts, loadLabels, loadSplit, saveSplit, splitFiles } from '../../pipeline/core/dataset';
import { NpzFormatError, readNpz, readNpzArray, writeNpz } from '../../pipeline/core/npz';
import { OFFICIAL_DIR, REAL_SAMPLE_DIR, ROOT, tempDir } from '../helpers/paths';

describe('npz loader', () => {
  it('reads the real sample: 2,092 images of 28x28 with 41 distinct labels', async () => {
    const s = await loadSplit(REAL_SAMPLE_DIR, 'test');
    assert.equal(s.count, 2092);
    assert.equal(s.images.length, 2092 * 28 * 28);
    assert.equal(new Set(s.labels).size, 41);
    // Absent classes listed in shared/data/README.md: え ち め ゆ よ る ゐ ゑ
    const counts = classCounts(s.labels);
    for (const absent of [3, 16, 33, 36, 37, 40, 44, 45]) assert.equal(counts[absent], 0);
  });

  it('reads the official train labels with the official per-class counts', async () => {
    const labels = await loadLabels(OFFICIAL_DIR, 'train');
    assert.equal(labels.length, 232365);
    const counts = classCounts(labels);
    assert.equal(counts[0], 6000); // あ
    assert.equal(counts[45], 392); // ゑ, the rarest
    assert.equal(Math.min(...counts), 392);
    assert.equal(Math.max(...counts), 6000);
    assert.equal(
      counts.reduce((a, b) => a + b),
      232365,
    );
  });

  it('reads the official test labels (38,547)', async () => {
    const labels = await loadLabels(OFFICIAL_DIR, 'test');
    assert.equal(labels.length, 38547);
    assert.equal(Math.max(...classCounts(labels)), 1000);
  });

  it('round-trips arrays through writeNpz/readNpz in the official layout', async () => {
    const dir = tempDir();
    const images = Uint8Array.from({ length: 3 * 784 }, (_, i) => i % 251);
    await saveSplit(dir, 'test', { images, labels: Uint8Array.from([0, 48, 7]), count: 3 });
    const back = await loadSplit(dir, 'test');
    assert.deepEqual(back.labels, Uint8Array.from([0, 48, 7]));
    assert.deepEqual(Buffer.from(back.images), Buffer.from(images));
    const raw = await readNpz(path.join(dir, splitFiles('test').images));
    assert.deepEqual([...raw.keys()], ['arr_0']);
    assert.deepEqual(raw.get('arr_0')!.shape, [3, 28, 28]);
  });

  describe('clear errors for bad files', () => {
    let dir: string;
    beforeEach(() => {
      dir = tempDir();
      copyFileSync(path.join(REAL_SAMPLE_DIR, 'k49-test-imgs.npz'), path.join(dir, 'k49-test-imgs.npz'));
      copyFileSync(path.join(REAL_SAMPLE_DIR, 'k49-test-labels.npz'), path.join(dir, 'k49-test-labels.npz'));
    });

    it('truncated file', async () => {
      const f = path.join(dir, 'k49-test-imgs.npz');
      truncateSync(f, Math.floor(statSync(f).size / 2));
      await assert.rejects(loadSplit(dir, 'test'), (e: Error) => e instanceof NpzFormatError && /truncated or corrupt/.test(e.message));
    });

    it('corrupt compressed data', async () => {
      const f = path.join(dir, 'k49-test-imgs.npz');
      const bytes = readFileSync(f);
      for (let i = 200; i < 5000; i += 7) bytes[i] = bytes[i]! ^ 0x5a;
      writeFileSync(f, bytes);
      await assert.rejects(loadSplit(dir, 'test'), NpzFormatError);
    });

    it('not a zip at all', async () => {
      writeFileSync(path.join(dir, 'k49-test-labels.npz'), 'hello, I am text');
      await assert.rejects(loadSplit(dir, 'test'), /not a valid \.npz/);
    });

    it('missing file', async () => {
      await assert.rejects(readNpzArray(path.join(dir, 'nope.npz')), /file not found/);
    });

    it('image and label counts that disagree', async () => {
      await writeNpz(path.join(dir, 'k49-test-labels.npz'), { arr_0: { data: new Uint8Array(5), shape: [5] } });
      await assert.rejects(loadSplit(dir, 'test'), /holds 2092 images but k49-test-labels.npz holds 5 labels/);
    });

    it('wrong dtype, wrong shape, label out of range', async () => {
      const labels = path.join(dir, 'k49-test-labels.npz');
      await writeNpz(labels, { arr_0: { data: new Float32Array(4), shape: [4] } });
      await assert.rejects(loadLabels(dir, 'test'), /expected dtype uint8, found 'f4'/);
      await writeNpz(labels, { arr_0: { data: new Uint8Array(4), shape: [2, 2] } });
      await assert.rejects(loadLabels(dir, 'test'), /expected shape \(N\), found \(2, 2\)/);
      await writeNpz(labels, { arr_0: { data: Uint8Array.from([1, 49]), shape: [2] } });
      await assert.rejects(loadLabels(dir, 'test'), /label 49 at index 1 is outside/);
    });
  });

  it('loads a full-size train set (232,365 x 28 x 28) peaking below 2x its raw size', async function () {
    this.timeout(300000);
    const dir = tempDir();
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'test/helpers/load-peak.ts'), dir], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const { raw, peakGrowth } = JSON.parse(out.trim().split('\n').pop()!) as { raw: number; peakGrowth: number };
    assert.equal(raw, 232365 * 784);
    assert.ok(peakGrowth < 2 * raw, `peak memory growth ${(peakGrowth / 1e6).toFixed(0)} MB >= 2x raw ${(raw / 1e6).toFixed(0)} MB`);
    console.log(
      `      peak growth while loading: ${(peakGrowth / 1e6).toFixed(0)} MB for ${(raw / 1e6).toFixed(0)} MB raw (${(peakGrowth / raw).toFixed(2)}x)`,
    );
  });
});
