/**
 * Where the project keeps things: the one place that works paths out from
 * the source tree. Records store paths relative to PROJECT_ROOT, so they hold
 * nothing of the machine they were made on.
 */
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** Versioned model artifacts, and the two links into them. */
export const ARTIFACTS_DIR = path.join(PROJECT_ROOT, 'artifacts');
/** The newest artifact that evaluated successfully: what the service serves by default. */
export const LATEST = path.join(ARTIFACTS_DIR, 'latest');
/** The newest trained artifact awaiting evaluation (`make train evaluate` evaluates what it just trained). */
export const CANDIDATE = path.join(ARTIFACTS_DIR, 'candidate');
/** Evaluations a user runs of an artifact that has its own record (`make evaluate` without RECORD=1): reports/<artifact>/<data>/, not committed. */
export const REPORTS_DIR = path.join(PROJECT_ROOT, 'reports');
/** Reports of `make eda`, one folder per data set. */
export const EDA_DIR = path.join(ARTIFACTS_DIR, 'eda');

/** Data sets made by `make data` (official K49) and `make synth`. */
const DATA_DIR = path.join(PROJECT_ROOT, 'data');
export const OFFICIAL_DATA_DIR = path.join(DATA_DIR, 'k49');
export const SYNTH_DATA_DIR = path.join(DATA_DIR, 'synth');
/** Characters cut from the real pages of book 200010454 (`k49 crops`), committed, leak-checked. */
export const PAGE_CROPS_DIR = path.join(DATA_DIR, 'page-crops-200010454');
/** Those crops that `k49 pseudo-label` chose and labelled, committed: a real training source of the bundled model. */
export const PSEUDO_LABELS_DIR = path.join(DATA_DIR, 'pseudo-labels-200010454');

/** Data beside the project (not in the repository): the real K49 test sample and real training images. */
export const SHARED_DATA_DIR = path.resolve(PROJECT_ROOT, '..', 'shared', 'data');
export const REAL_SAMPLE_DIR = path.join(SHARED_DATA_DIR, 'real-sample');
/** Real training images of ten classes; its test split is a copy of real-sample images. */
export const KMNIST_REAL_DIR = path.join(SHARED_DATA_DIR, 'kmnist-real');

/** The command line every make target and child process runs. */
export const CLI = path.join(PROJECT_ROOT, 'bin', 'k49.js');
export const SCRIPTS_DIR = path.join(PROJECT_ROOT, 'scripts');
export const PACKAGE_JSON = path.join(PROJECT_ROOT, 'package.json');
export const README = path.join(PROJECT_ROOT, 'README.md');
/** The manual's chapters beyond the README. */
export const DOCS_DIR = path.join(PROJECT_ROOT, 'docs');

/** Benchmark results (`make bench`, `make soak`), from which the performance tables are written (bench/report.ts). */
export const BENCH_RESULTS = path.join(PROJECT_ROOT, 'bench', 'results.json');
/** `make soak`'s results, one file per task store. */
export const SOAK_RESULTS = { sqlite: path.join(PROJECT_ROOT, 'bench', 'soak.json'), redis: path.join(PROJECT_ROOT, 'bench', 'soak-redis.json') };

/** The web page's sources (bundled on first request). */
export const UI_DIR = path.join(PROJECT_ROOT, 'serve', 'ui');

/** The code of the service's inference thread (serve/model/classifier.ts starts it). */
export const INFERENCE_THREAD_ENTRY = path.join(PROJECT_ROOT, 'serve', 'model', 'thread-entry.ts');
/** The code of the API's page-cutting thread (serve/api/page-thread.ts starts it). */
export const PAGE_THREAD_ENTRY = path.join(PROJECT_ROOT, 'serve', 'api', 'page-thread-entry.ts');

/** The service's default task store (QUEUE_URL), relative to the working directory as before. */
export const DEFAULT_QUEUE_URL = 'sqlite:var/tasks.db';

/** A path as records store it: relative to the project root (e.g. `data/synth`, `../shared/data/real-sample`). */
export function projectRelative(p: string): string {
  return path.relative(PROJECT_ROOT, path.resolve(p)) || '.';
}

/** A path read from a record, made absolute again (older records hold absolute paths: those stay as they are). */
export function fromProject(p: string): string {
  return path.resolve(PROJECT_ROOT, p);
}
