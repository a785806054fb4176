/**
 * `make bench`: the model benchmark (training, inference) and the serving
 * benchmark, written to bench/results.json with the machine and the date.
 */
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveModelDir } from '../pipeline/artifacts';
import { benchModel } from '../pipeline/bench';
import { RESULTS, updateReadme } from './report';
import { benchServing } from './serve';

export async function runBench(opts: { out?: string; only?: 'model' | 'serve'; seconds?: number }) {
  const out = path.resolve(opts.out ?? path.join(__dirname, 'results.json'));
  let previous: Record<string, unknown> = {};
  try {
    previous = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    previous = {};
  }
  const modelDir = resolveModelDir(process.env.MODEL);
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
    git_commit: (() => {
      try {
        return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
      } catch {
        return null;
      }
    })(),
    commands: { model: 'make bench (k49 bench --only model)', serve: 'make bench (k49 bench --only serve)' },
  };
  if (opts.only !== 'serve') results.model = await benchModel(modelDir);
  if (opts.only !== 'model') results.serve = await benchServing(console.error, opts.seconds ?? 10);
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`benchmark results written to ${out}`);
  if (out === RESULTS) {
    updateReadme();
    console.log('README.md Performance table updated from it');
  }
  return results;
}
