/**
 * `make bench`: the model benchmark (training, inference) and the serving
 * benchmark, written to bench/results.json with the machine and the date;
 * `make soak`. Both rewrite the generated performance tables (README, docs/performance.md) from their results.
 */
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveModelDir } from '../pipeline/core/artifacts';
import { BENCH_RESULTS, SOAK_RESULTS } from '../pipeline/core/paths';
import { browserMissing } from './browser';
import { benchModel } from './model';
import { updateDocs } from './report';
import { benchBrowser, benchServing } from './serve';
import { runSoak, type SoakOptions } from './soak';

/**
 * The commit the measured code is, or `<commit> with uncommitted changes` when the working tree's tracked
 * files other than documents and results (which the benchmark itself rewrites) differ from it: what ran
 * was not that commit. Null outside a git clone.
 */
function measuredCommit(): string | null {
  const git = (args: string) =>
    execSync(`git ${args}`, { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  try {
    const commit = git('rev-parse --short HEAD');
    return git("status --porcelain --untracked-files=no -- . ':!*.md' ':!bench/*.json'") === '' ? commit : `${commit} with uncommitted changes`;
  } catch {
    return null;
  }
}

export async function runBench(opts: {
  out?: string;
  model?: string;
  compare?: string;
  only?: 'model' | 'serve' | 'browser';
  duration?: number;
  peer?: boolean;
}) {
  const out = path.resolve(opts.out ?? BENCH_RESULTS);
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    previous = {};
  }
  const modelDir = resolveModelDir(opts.model);
  const missing = opts.only === 'model' ? null : browserMissing();
  if (missing) throw new Error(missing);
  if (opts.only === 'browser') return runBrowserBench(out, previous, modelDir);
  const results: Record<string, unknown> = {
    ...previous,
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? 'unknown',
      memory_gib: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      os: `${os.type()} ${os.release()}`,
    },
    git_commit: measuredCommit(),
    commands: {
      model: 'make bench (k49 bench --only model)',
      serve: `make bench${opts.peer ? ' PEER=1' : ''} (k49 bench --only serve${opts.peer ? ' --peer' : ''})`,
    },
  };
  if (opts.only !== 'serve') results.model = await benchModel(modelDir, console.error, opts.compare ? resolveModelDir(opts.compare) : undefined);
  if (opts.only !== 'model') results.serve = await benchServing(modelDir, console.error, opts.duration ?? 10, opts.peer ?? false);
  return writeResults(out, results);
}

/** `make bench ONLY=browser`: the in-browser measures alone, dated on their own, into the serving results already there. */
async function runBrowserBench(out: string, previous: Record<string, unknown>, modelDir: string) {
  const browser = { date: new Date().toISOString(), ...(await benchBrowser(modelDir, console.error)) };
  return writeResults(out, { ...previous, serve: { ...(previous.serve as object), browser } });
}

function writeResults(out: string, results: Record<string, unknown>) {
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`benchmark results written to ${out}`);
  if (out === BENCH_RESULTS) {
    console.log(`generated figures updated from it: ${updateDocs().join(', ') || 'none changed'}`);
  }
  return results;
}

/** `make soak`: the soak run, then the generated performance tables (docs/performance.md carries the last soak run) when it wrote bench/soak.json. */
export async function runSoakAndReport(opts: SoakOptions) {
  const result = await runSoak(opts);
  if (path.resolve(opts.out ?? SOAK_RESULTS[opts.store ?? 'sqlite']) === SOAK_RESULTS[opts.store ?? 'sqlite']) updateDocs();
  return result;
}
