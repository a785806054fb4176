/**
 * Versioned model artifacts: `artifacts/<version>/` holds the TensorFlow.js
 * model, class map, preprocessing parameters, config, training record, metrics
 * and reports, and MODEL_CARD.md. `artifacts/latest` is a symlink to the
 * newest artifact that evaluated successfully; `artifacts/candidate` to the
 * newest trained one awaiting evaluation (so `make train evaluate` evaluates
 * what it just trained).
 */
import { execSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { classMapCsv, K49_CLASSES } from './classes';
import { CANDIDATE, LATEST, PROJECT_ROOT } from './paths';
import { PREPROCESS } from './preprocess/fit';

export const MODEL_SUBDIR = 'model';

export function newVersion(architecture: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${architecture}-${stamp}`;
}

/** What a trained model depends on in the repository. */
const TRAINING_INPUTS = ['bin', 'pipeline', 'configs', 'package.json', 'package-lock.json'];

export function gitCommit(): string | null {
  try {
    const sha = execSync('git rev-parse HEAD', { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    // Only changes to what makes a model count (code, configs, dependencies), not to docs or other artifacts.
    const dirty = execSync(`git status --porcelain --untracked-files=no -- ${TRAINING_INPUTS.join(' ')}`, {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return null;
  }
}

/** Writes the parts every artifact has besides the model itself. */
export async function writeArtifactBasics(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'classes.csv'), classMapCsv());
  await fs.writeFile(path.join(dir, 'preprocess.json'), `${JSON.stringify(PREPROCESS, null, 2)}\n`);
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Points `link` (latest/candidate) at `target`, atomically. */
export async function pointLink(link: string, target: string): Promise<void> {
  const rel = path.relative(path.dirname(link), path.resolve(target));
  const tmp = `${link}.tmp-${process.pid}`;
  await fs.rm(tmp, { force: true });
  await fs.symlink(rel, tmp);
  await fs.rename(tmp, link);
}

export function resolveModelDir(model: string | undefined): string {
  const dir = model ?? (existsSync(CANDIDATE) ? CANDIDATE : LATEST);
  if (!existsSync(path.join(dir, MODEL_SUBDIR, 'model.json'))) {
    throw new Error(
      `No model artifact at ${dir} (expected ${path.join(dir, MODEL_SUBDIR, 'model.json')}). Train one with \`make train\`, or pass MODEL=<artifact dir>.`,
    );
  }
  return realpathSync(dir);
}

/** Checks that an artifact was made for this system's classes and preprocessing. */
export function checkArtifactCompatible(dir: string): void {
  const classes = readFileSync(path.join(dir, 'classes.csv'), 'utf8');
  if (classes !== classMapCsv()) throw new Error(`${dir}/classes.csv does not match the ${K49_CLASSES.length} K49 classes of this version`);
  const pre = readJson<typeof PREPROCESS>(path.join(dir, 'preprocess.json'));
  if (JSON.stringify(pre) !== JSON.stringify(PREPROCESS)) {
    throw new Error(`${dir}/preprocess.json differs from this version's preprocessing; retrain or use a matching version`);
  }
}
