/**
 * `k49 pseudo-label`: a real training source for every class from characters cut from real pages
 * (`k49 crops`), labelled by a model instead of a person (self-training, issue #34).
 *
 * 1. The teacher is adapted to real ink first: every batch-normalisation layer's moving mean and
 *    variance are recomputed, layer by layer, on the crops plus the real labelled images (AdaBN).
 *    Trained on mostly rendered images, its statistics are the fonts'; real ink's make its answers
 *    on real crops better (the fold figures in docs/experiments.md). Only the labelling uses it.
 * 2. Each crop is read three times: as cut and shifted one pixel each way diagonally; a crop is a
 *    candidate for class c when all three answers are c and the first is at least `minConfidence` sure.
 * 3. Class-balanced choice: per class the more confident half of its candidates (`keepShare`),
 *    at least `floorPerClass` (or all there are), at most `capPerClass`, so that the classes the teacher
 *    already reads well do not fill the set, and the ones it reads worst still get real ink.
 *    ゝ is left out: the teacher gives it to stroke fragments.
 *
 * Written: the chosen crops in K49 format (k49-train-imgs.npz, k49-train-labels.npz), which crop of
 * the crop set each one is, and pseudo-labels.json (teacher, sources, rule, counts per class).
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type * as TF from '@tensorflow/tfjs-node';
import { MODEL_SUBDIR, readJson, resolveModelDir, writeJson } from '../core/artifacts';
import { loadTf, type Tf } from '../core/backend';
import { md5File } from '../core/checksum';
import { classByChar, classById, NUM_CLASSES } from '../core/classes';
import { IMAGE_SIZE, loadSplit, PIXELS, saveSplit, shiftImages } from '../core/dataset';
import { classifyInBatches, compileInference, runSteps } from '../core/inference';
import { projectRelative } from '../core/paths';
import { toModelInput } from '../core/preprocess/fit';
import { readTrainRecord } from '../core/records';
import { PSEUDO_LABELS_RECORD } from './sources';

export const PSEUDO_LABEL_RULE = {
  minConfidence: 0.3,
  keepShare: 0.5,
  floorPerClass: 20,
  capPerClass: 150,
  shifts: [
    [1, 1],
    [-1, -1],
  ] as const,
  leftOut: ['ゝ'],
};

const CHUNK = 1024;

/**
 * Sets every BatchNormalization layer's moving mean and variance to those of its input over `images`,
 * in layer order, so each layer sees the inputs the layers before it (already adapted) now give.
 */
export function adaptBatchNorm(tf: Tf, model: TF.LayersModel, images: Uint8Array): number {
  const n = images.length / PIXELS;
  const layers = model.layers;
  let adapted = 0;
  for (let j = 0; j < layers.length; j++) {
    if (layers[j]!.getClassName() !== 'BatchNormalization') continue;
    let sum: Float64Array | null = null;
    let squares: Float64Array | null = null;
    let count = 0;
    for (let start = 0; start < n; start += CHUNK) {
      const part = images.subarray(start * PIXELS, Math.min(n, start + CHUNK) * PIXELS);
      let perChannel = 0;
      const moments = tf.tidy(() => {
        let x: TF.Tensor = tf.tensor4d(toModelInput(part), [part.length / PIXELS, IMAGE_SIZE, IMAGE_SIZE, 1]);
        for (let k = 0; k < j; k++) x = layers[k]!.apply(x, { training: false }) as TF.Tensor;
        const axes = x.shape.slice(0, -1).map((_, i) => i);
        // Values per channel in this chunk: every position of every image.
        perChannel = axes.reduce((a, i) => a * x.shape[i]!, 1);
        return [tf.sum(x, axes), tf.sum(tf.square(x), axes)];
      });
      const [s, q] = moments.map((t) => t.dataSync() as Float32Array) as [Float32Array, Float32Array];
      tf.dispose(moments);
      sum ??= new Float64Array(s.length);
      squares ??= new Float64Array(s.length);
      for (let c = 0; c < s.length; c++) {
        sum[c]! += s[c]!;
        squares[c]! += q[c]!;
      }
      count += perChannel;
    }
    const mean = Float32Array.from(sum!, (v) => v / count);
    const variance = Float32Array.from(squares!, (v, c) => Math.max(0, v / count - mean[c]! ** 2));
    const weights = layers[j]!.getWeights();
    // Weight order: [gamma?, beta?, moving_mean, moving_variance]; only the last two change.
    const kept = weights.slice(0, -2);
    const fresh = [tf.tensor1d(mean), tf.tensor1d(variance)];
    layers[j]!.setWeights([...kept, ...fresh]);
    tf.dispose(fresh);
    adapted++;
  }
  return adapted;
}

/** Class-balanced choice of the crops whose views agree (the rule above); indices into the crops, per class, most confident first. */
export function choosePseudoLabels(
  views: { classes: Int32Array; confidences: Float32Array }[],
  rule: typeof PSEUDO_LABEL_RULE = PSEUDO_LABEL_RULE,
): number[][] {
  const [first, ...others] = views as [{ classes: Int32Array; confidences: Float32Array }, ...{ classes: Int32Array }[]];
  const leftOut = new Set(rule.leftOut.map((ch) => classByChar(ch)!.index));
  const candidates: number[][] = Array.from({ length: NUM_CLASSES }, () => []);
  for (let i = 0; i < first.classes.length; i++) {
    const c = first.classes[i]!;
    if (leftOut.has(c) || first.confidences[i]! < rule.minConfidence) continue;
    if (others.every((v) => v.classes[i] === c)) candidates[c]!.push(i);
  }
  return candidates.map((idx) => {
    const keep = Math.min(rule.capPerClass, idx.length, Math.max(Math.ceil(idx.length * rule.keepShare), rule.floorPerClass));
    return idx.sort((a, b) => first.confidences[b]! - first.confidences[a]! || a - b).slice(0, keep);
  });
}

/**
 * A folder that already holds another teacher's pseudo-labels (the committed set is the bundled model's
 * training input) is not overwritten: without MODEL=, the teacher is artifacts/latest, which after a
 * round is the student, not the teacher that made the set.
 */
function refuseOtherTeachersSet(out: string, teacher: string, model: string | undefined): void {
  const record = path.join(out, PSEUDO_LABELS_RECORD);
  if (!existsSync(record)) return;
  const made = readJson<{ teacher: string }>(record).teacher;
  if (made === teacher) return;
  throw new Error(
    `${projectRelative(out)} holds the pseudo-labels of teacher ${made}; this run's teacher is ${teacher}` +
      `${model ? '' : ' (artifacts/latest: no MODEL= given)'}. To remake that set pass MODEL=artifacts/${made}; ` +
      'for a new set give another DATA= folder (or delete this one first).',
  );
}

export async function makePseudoLabels(opts: { model?: string; crops: string; adapt: string[]; out: string; log?: (line: string) => void }) {
  const log = opts.log ?? ((l: string) => console.log(l));
  const { tf } = loadTf();
  const teacherDir = resolveModelDir(opts.model);
  const teacher = readTrainRecord(teacherDir).version;
  refuseOtherTeachersSet(opts.out, teacher, opts.model);
  const crops = await loadSplit(opts.crops, 'train');
  const adaptSets = await Promise.all(opts.adapt.map((dir) => loadSplit(dir, 'train')));
  const model = await tf.loadLayersModel(`file://${path.join(teacherDir, MODEL_SUBDIR, 'model.json')}`);
  const owned: TF.Tensor[] = [];
  try {
    const layers = adaptBatchNorm(tf, model, Buffer.concat([crops, ...adaptSets].map((s) => s.images)));
    log(
      `teacher ${teacher}: ${layers} batch-norm layers adapted to ${crops.count} crops + ${adaptSets.map((s, i) => `${s.count} of ${projectRelative(opts.adapt[i]!)}`).join(', ')}`,
    );
    const steps = compileInference(tf, model, owned);
    const read = (images: Uint8Array) => classifyInBatches((part) => runSteps(tf, steps, part), images, CHUNK);
    const views = await Promise.all([crops.images, ...PSEUDO_LABEL_RULE.shifts.map(([dx, dy]) => shiftImages(crops.images, dx, dy))].map(read));
    const perClass = choosePseudoLabels(views);
    const chosen = perClass.flat();
    const images = new Uint8Array(chosen.length * PIXELS);
    chosen.forEach((i, k) => {
      images.set(crops.images.subarray(i * PIXELS, (i + 1) * PIXELS), k * PIXELS);
    });
    const labels = Uint8Array.from(chosen, (i) => views[0]!.classes[i]!);
    await fs.mkdir(opts.out, { recursive: true });
    await saveSplit(opts.out, 'train', { images, labels, count: chosen.length });
    const counts = Object.fromEntries(perClass.map((idx, c) => [classById(c).char, idx.length]).filter(([, n]) => n !== 0));
    const lines = [
      'crop,label,character,confidence',
      ...chosen.map((i) => `${i},${views[0]!.classes[i]},${classById(views[0]!.classes[i]!).char},${views[0]!.confidences[i]!.toFixed(4)}`),
    ];
    await fs.writeFile(path.join(opts.out, 'pseudo-labels.csv'), `${lines.join('\n')}\n`);
    await writeJson(path.join(opts.out, PSEUDO_LABELS_RECORD), {
      teacher,
      crops: { dir: projectRelative(opts.crops), images: crops.count, md5: await md5File(path.join(opts.crops, 'k49-train-imgs.npz')) },
      batch_norm_adapted_on: [opts.crops, ...opts.adapt].map(projectRelative),
      rule: PSEUDO_LABEL_RULE,
      images: chosen.length,
      classes: Object.keys(counts).length,
      per_class: counts,
    });
    log(`${opts.out}: ${chosen.length} pseudo-labelled crops of ${Object.keys(counts).length} classes ${JSON.stringify(counts)}`);
    return { images: chosen.length, perClass: counts };
  } finally {
    tf.dispose(owned);
    model.dispose();
  }
}
