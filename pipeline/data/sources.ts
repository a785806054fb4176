/**
 * Training data from several K49-format directories at once:
 * `DATA=data/synth,../shared/data/kmnist-real:2` names each source with an
 * optional sampling weight (default 1). Their training splits are joined;
 * each image remembers its source, so training samples class-balanced over
 * the union with each source's weight, and the artifact records every source
 * (name, kind, weight, images per class, md5) for the model card and the
 * per-group figures of `make evaluate`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { md5File } from '../core/checksum';
import { classCounts, hasSplit, type LabelledImages, loadSplit, PIXELS, splitFiles } from '../core/dataset';
import { projectRelative } from '../core/paths';
import type { SourceKind, SourceRecord } from '../core/records';

export interface SourceSpec {
  dir: string;
  weight: number;
}

/** `a,b:2` -> [{dir: a, weight: 1}, {dir: b, weight: 2}]. */
export function parseSources(spec: string): SourceSpec[] {
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('DATA names no directory');
  return parts.map((part) => {
    const m = /^(.+?)(?::([^:/]*))?$/.exec(part)!;
    const weight = m[2] === undefined ? 1 : Number(m[2]);
    if (!(Number.isFinite(weight) && weight > 0)) throw new Error(`DATA: the weight of '${m[1]}' must be a positive number, got '${m[2]}'`);
    return { dir: m[1]!, weight };
  });
}

/** What `k49 pseudo-label` writes beside the crops it labelled (teacher, rule, counts). */
export const PSEUDO_LABELS_RECORD = 'pseudo-labels.json';

/**
 * `k49 synth` writes synth.json beside the files it renders, `k49 pseudo-label` PSEUDO_LABELS_RECORD beside the
 * crops it labelled; any other K49-format directory holds real images labelled by people.
 */
function sourceKind(dir: string): SourceKind {
  if (existsSync(path.join(dir, 'synth.json'))) return 'synthetic';
  return existsSync(path.join(dir, PSEUDO_LABELS_RECORD)) ? 'pseudo-labelled' : 'real';
}

export interface MixedSplit extends LabelledImages {
  /** Index into `sources` for every image. */
  source: Uint8Array;
  sources: SourceRecord[];
}

export async function loadSources(specs: SourceSpec[]): Promise<MixedSplit> {
  if (specs.length > 255) throw new Error('at most 255 data sources');
  const parts: LabelledImages[] = [];
  const sources: SourceRecord[] = [];
  for (const { dir, weight } of specs) {
    if (!hasSplit(dir, 'train')) {
      throw new Error(
        `${dir} has no ${splitFiles('train').images} and ${splitFiles('train').labels}; run \`make data\` or \`make synth\`, or pass DATA=<dir>[,<dir>...].`,
      );
    }
    const split = await loadSplit(dir, 'train');
    const files = splitFiles('train');
    parts.push(split);
    sources.push({
      dir: projectRelative(dir),
      name: path.basename(path.resolve(dir)),
      kind: sourceKind(dir),
      weight,
      images: split.count,
      class_counts: classCounts(split.labels),
      md5: { [files.images]: await md5File(path.join(dir, files.images)), [files.labels]: await md5File(path.join(dir, files.labels)) },
    });
  }
  const count = parts.reduce((n, p) => n + p.count, 0);
  const mixed: MixedSplit = { images: new Uint8Array(count * PIXELS), labels: new Uint8Array(count), source: new Uint8Array(count), count, sources };
  let at = 0;
  parts.forEach((p, s) => {
    mixed.images.set(p.images, at * PIXELS);
    mixed.labels.set(p.labels, at);
    mixed.source.fill(s, at, at + p.count);
    at += p.count;
  });
  return mixed;
}
