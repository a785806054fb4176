/**
 * Memory probe for the loader (run in its own process so the high-water mark
 * is clean): writes a full-size K49 train image file (232,365 x 28 x 28) in
 * a child, then loads it here and reports the peak resident-set growth.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2]!;
const N = 232365;

function vmHwm(): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
  return Number(kb) * 1024;
}

if (process.argv[3] === 'write') {
  const { writeNpz } = require('../../pipeline/core/npz') as typeof import('../../pipeline/core/npz');
  // Sparse bright strokes on black, compressing about like real K49 images.
  const images = new Uint8Array(N * 784);
  for (let i = 0; i < images.length; i += 13) images[i] = (i * 7919) % 256;
  writeNpz(path.join(dir, 'k49-train-imgs.npz'), { arr_0: { data: images, shape: [N, 28, 28] } });
} else {
  execFileSync(process.execPath, ['--require', 'tsx/cjs', __filename, dir, 'write']);
  const { loadImages } = require('../../pipeline/core/dataset') as typeof import('../../pipeline/core/dataset');
  const before = vmHwm();
  loadImages(dir, 'train').then((images) => {
    const peakGrowth = vmHwm() - before;
    console.log(JSON.stringify({ raw: images.length, peakGrowth }));
  });
}
