/**
 * The README's Performance table, rendered from bench/results.json (and the
 * last soak run, bench/soak.json): `make bench` rewrites the block between
 * the markers, and a test checks the README still matches the results file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BENCH_RESULTS as RESULTS, README, SOAK_RESULTS } from '../pipeline/core/paths';
import type { benchModel } from './model';
import type { benchServing } from './serve';
import type { runSoak } from './soak';

export const BLOCK_START = '<!-- bench:start: written by `make bench` from bench/results.json and bench/soak.json; do not edit by hand -->';
export const BLOCK_END = '<!-- bench:end -->';

export interface BenchResults {
  date: string;
  machine: { cpus: number; cpu_model: string; memory_gib: number; node: string; os: string };
  git_commit: string | null;
  model?: Awaited<ReturnType<typeof benchModel>>;
  serve?: Awaited<ReturnType<typeof benchServing>>;
}
export type SoakResults = Awaited<ReturnType<typeof runSoak>>;

export function renderPerformance(r: BenchResults, soak: SoakResults | null): string {
  const m = r.machine;
  const lines = [
    `Measured with \`make bench\` on ${r.date.slice(0, 10)} (commit ${r.git_commit ?? 'unknown'}) on this machine: ${m.cpus} cores (${m.cpu_model}), ${m.memory_gib} GiB, Node ${m.node}, ${m.os}; ` +
      `model \`${r.model?.model_version ?? '?'}\`, backend \`${r.model?.backend ?? '?'}\`. The load generator (autocannon) shares the same cores. Raw figures: \`bench/results.json\`.`,
    '',
    '| what | throughput | latency | note |',
    '| --- | --- | --- | --- |',
  ];
  if (r.model) {
    const b1 = r.model.inference_batch1;
    for (const t of r.model.training) {
      lines.push(
        `| training, ${t.architecture}: full recipe (sampling, augmentation, step, weight averaging; batch ${t.batch_size}) | ${t.full_recipe_images_per_second} img/s | | ` +
          `bare step ${t.bare_step_images_per_second} img/s: ratio ${t.overhead_ratio}; tfjs-layers trainOnBatch ${t.layers_train_on_batch_images_per_second} img/s |`,
      );
    }
    lines.push(`| inference, batch 1 (fused path, throughput profile as in \`make evaluate\`) | ${b1.images_per_second} img/s | p50 ${b1.p50_ms} ms, p99 ${b1.p99_ms} ms | the API's latency profile: /metrics below, model ms per call at concurrency 1 |`);
    const vs = r.model.inference_batch1_compared;
    if (vs) lines.push(`| inference, batch 1, this model and \`${vs.model_version}\` alternating (\`COMPARE=\`) | | p50 ${vs.this_model_p50_ms} ms against ${vs.p50_ms} ms | ratio ${vs.p50_ratio} |`);
    lines.push(`| inference, batch 256 | ${r.model.inference_batch256_images_per_second} img/s | | peak RSS ${r.model.peak_rss_mb} MB |`);
  }
  type PredictRun = { dynamic_batching: boolean; window_ms: number; connections: number; requests_per_second: number; p50_ms: number; p99_ms: number; errors: number };
  for (const p of (r.serve?.predict ?? []) as (PredictRun & { server?: { model_ms_per_call: number | null; images_per_model_call: number | null } })[]) {
    const mode = p.dynamic_batching ? `batching on (${p.window_ms} ms)` : 'batching off';
    const server = p.server?.model_ms_per_call != null ? `; /metrics: model ${p.server.model_ms_per_call} ms per call, ${p.server.images_per_model_call} images per call` : '';
    lines.push(`| \`/predict\`, ${mode}, concurrency ${p.connections} | ${p.requests_per_second} req/s | p50 ${p.p50_ms} ms, p99 ${p.p99_ms} ms | ${p.errors} errors${server} |`);
  }
  const b = r.serve?.batch;
  if (b) {
    const rounds = `, the median of ${b.rounds.length} rounds alternating with it (${b.rounds.map((x) => x.share_of_model_speed).join(', ')})`;
    const share = b.share_of_model_speed != null ? `${b.share_of_model_speed} of the model's own batch-256 speed (${b.model_batch256_images_per_second} img/s)${rounds}; ${b.after_upload_images_per_second} img/s after the upload` : '';
    lines.push(`| \`/batch_predict\` of ${b.images} PNGs, ${b.workers} worker | ${b.end_to_end_images_per_second} img/s end to end | upload ${b.upload_seconds} s, total ${b.end_to_end_seconds} s | ${share} |`);
  }
  if (soak) {
    const first = soak.memory[0]!, last = soak.memory.at(-1)!;
    lines.push(
      `| soak (\`make soak\`, ${soak.date.slice(0, 10)}): ${soak.config.seconds} s of /predict at ${soak.config.predict_rate_per_s}/s + a ${soak.config.batch_images}-image batch every ${soak.config.batch_every_s} s | ` +
        `${soak.predict.answered}/${soak.predict.sent} answered, ${soak.batches.answered_with_prediction}/${soak.batches.images} batch images | /predict p50 ${soak.predict.p50_ms} ms, p99 ${soak.predict.p99_ms} ms | ` +
        `${soak.errors.count} errors; RSS API ${first.api_rss_mb} to ${last.api_rss_mb} MB, worker ${first.worker_rss_mb} to ${last.worker_rss_mb} MB |`,
    );
  }
  return lines.join('\n');
}

function readJson<T>(file: string): T | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null;
}

/** The Performance block as it must read for the current results files. */
export function expectedBlock(): string {
  return `${BLOCK_START}\n${renderPerformance(readJson<BenchResults>(RESULTS)!, readJson<SoakResults>(SOAK_RESULTS))}\n${BLOCK_END}`;
}

/** The block currently in the README (null when the markers are missing). */
export function currentBlock(readme = readFileSync(README, 'utf8')): string | null {
  const a = readme.indexOf(BLOCK_START), b = readme.indexOf(BLOCK_END);
  return a < 0 || b < a ? null : readme.slice(a, b + BLOCK_END.length);
}

export function updateReadme(): void {
  const readme = readFileSync(README, 'utf8');
  const current = currentBlock(readme);
  if (current === null) throw new Error(`README.md has no Performance block between ${BLOCK_START} and ${BLOCK_END}`);
  writeFileSync(README, readme.replace(current, expectedBlock()));
}
