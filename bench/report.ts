/**
 * The figures in the README and docs/ that come from results files, written
 * between markers by `make docs` (and by `make bench` / `make soak` after
 * they measure): the bundled model's figures from its own evaluation record,
 * and the performance tables from bench/results.json and bench/soak.json.
 * A test fails when a block differs from what its results file gives.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DOCS_DIR, LATEST, PROJECT_ROOT, README, BENCH_RESULTS as RESULTS, SOAK_RESULTS } from '../pipeline/core/paths';
import { readEvalRecord } from '../pipeline/core/records';
import { BACKEND_NAMES } from '../serve/ui/i18n';
import type { benchModel } from './model';
import type { benchServing } from './serve';
import type { runSoak } from './soak';

/** A latency as autocannon gives it (whole milliseconds): 0 is under a millisecond. */
const ms = (x: number) => (x === 0 ? '< 1 ms' : `${x} ms`);

interface BenchResults {
  date: string;
  machine: { cpus: number; cpu_model: string; memory_gib: number; node: string; os: string };
  git_commit: string | null;
  model?: Awaited<ReturnType<typeof benchModel>>;
  serve?: Awaited<ReturnType<typeof benchServing>>;
}
type SoakResults = Awaited<ReturnType<typeof runSoak>>;

function renderPerformance(r: BenchResults, soaks: SoakResults[]): string {
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
    lines.push(
      `| inference, batch 1 (ONNX Runtime, throughput profile as in \`make evaluate\`) | ${b1.images_per_second} img/s | p50 ${b1.p50_ms} ms, p99 ${b1.p99_ms} ms | the API's latency profile: /metrics below, model ms per call at concurrency 1 |`,
    );
    const vs = r.model.inference_batch1_compared;
    if (vs)
      lines.push(
        `| inference, batch 1, this model and \`${vs.model_version}\` alternating (\`COMPARE=\`) | | p50 ${vs.this_model_p50_ms} ms against ${vs.p50_ms} ms | ratio ${vs.p50_ratio} |`,
      );
    lines.push(`| inference, batch 256 | ${r.model.inference_batch256_images_per_second} img/s | | peak RSS ${r.model.peak_rss_mb} MB |`);
    const e = r.model.inference_engines;
    if (e)
      lines.push(
        `| the same model through TensorFlow.js's fused ops (training's validation path; the service's engine before ONNX Runtime), alternating with it | batch 256: ${e.tensorflow_fused.batch256_images_per_second} against ${e.onnxruntime.batch256_images_per_second} img/s | batch 1 p50 ${e.tensorflow_fused.batch1_p50_ms} against ${e.onnxruntime.batch1_p50_ms} ms | ONNX Runtime ${(e.tensorflow_fused.batch1_p50_ms / e.onnxruntime.batch1_p50_ms).toFixed(1)}x faster at batch 1, ${(e.onnxruntime.batch256_images_per_second / e.tensorflow_fused.batch256_images_per_second).toFixed(2)}x at batch 256 |`,
      );
  }
  type PredictRun = {
    dynamic_batching: boolean;
    window_ms: number;
    connections: number;
    requests_per_second: number;
    p50_ms: number;
    p99_ms: number;
    errors: number;
  };
  for (const p of (r.serve?.predict ?? []) as (PredictRun & { server?: { model_ms_per_call: number | null; images_per_model_call: number | null } })[]) {
    const mode = p.dynamic_batching ? `batching on (${p.window_ms} ms)` : 'batching off';
    const server =
      p.server?.model_ms_per_call != null
        ? `; /metrics: model ${p.server.model_ms_per_call} ms per call, ${p.server.images_per_model_call} images per call`
        : '';
    lines.push(
      `| \`/predict\`, ${mode}, concurrency ${p.connections} | ${p.requests_per_second} req/s | p50 ${ms(p.p50_ms)}, p99 ${ms(p.p99_ms)} | ${p.errors} errors${server} |`,
    );
  }
  const peer = r.serve?.peer;
  if (peer?.started) {
    for (const p of peer.predict) {
      const ratio = peer.versus.find((v) => v.connections === p.connections)!.ratio;
      lines.push(
        `| \`/predict\` of the replaced system (FastAPI + PyTorch, \`make bench PEER=1\`), concurrency ${p.connections} | ${p.requests_per_second} req/s | p50 ${ms(p.p50_ms)}, p99 ${ms(p.p99_ms)} | ${p.errors} errors; this service (batching on) ${ratio}x its requests/s, medians of ${p.rounds.length} alternating rounds |`,
      );
    }
  }
  const pg = r.serve?.page;
  if (pg)
    lines.push(
      `| \`/pages\`: a ${pg.width} x ${pg.height} page of ${pg.characters} characters read (rendered, held-out fonts) | | median ${pg.median_seconds} s of ${pg.seconds.length} (${pg.seconds.join(', ')}) | |`,
    );
  const b = r.serve?.batch;
  if (b) {
    const rounds = `, the median of ${b.rounds.length} rounds, each against the model measured just before and after it (${b.rounds.map((x) => x.share_of_model_speed).join(', ')})`;
    const share =
      b.share_of_model_speed != null
        ? `${b.share_of_model_speed} of the model's own batch-256 speed (${b.model_batch256_images_per_second} img/s)${rounds}; ${b.after_upload_images_per_second} img/s after the upload`
        : '';
    lines.push(
      `| \`/batch_predict\` of ${b.images} PNGs, ${b.workers} worker | ${b.end_to_end_images_per_second} img/s end to end | upload ${b.upload_seconds} s, total ${b.end_to_end_seconds} s | ${share} |`,
    );
  }
  for (const s of soaks) {
    const m = s.memory.api;
    lines.push(
      `| soak, ${s.config.store} (\`${s.command}\`, ${s.date.slice(0, 10)}): ${s.config.seconds} s of /predict at ${s.config.predict_rate_per_s}/s + a ${s.config.batch_images}-image batch every ${s.config.batch_every_s} s, ${faultsText(s)} | ` +
        `${s.predict.answered}/${s.predict.sent} answered, ${s.batches.answered}/${s.batches.images} batch images | /predict p50 ${s.predict.p50_ms} ms, p99 ${s.predict.p99_ms} ms | ` +
        `${s.errors.count} unexpected errors; API RSS ${m.start_mb} to ${m.end_mb} MB (peak ${m.peak_mb}) |`,
    );
  }
  return lines.join('\n');
}

function faultsText(s: SoakResults): string {
  const f = s.faults;
  const parts = [
    f.worker_kills ? `${f.worker_kills} worker kills` : '',
    f.api_restarts ? `${f.api_restarts} API restarts` : '',
    f.redis_restarts ? `${f.redis_restarts} Redis restarts` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no faults';
}

/** The soak runs (`make soak`, one per task store) as a table: what was lost, duplicated, wrong, and memory. */
function renderSoaks(soaks: SoakResults[]): string[] {
  if (soaks.length === 0) return [];
  const lines = [
    '',
    'Soak runs (`make soak`), every accepted image checked against the class `make evaluate` gives it:',
    '',
    '| run | faults | /predict answered (lost, wrong) | batch images answered (lost, duplicated, wrong, out of order) | unexpected errors | refused while a process was down (retried) | API memory start, peak, end |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of soaks) {
    const b = s.batches,
      p = s.predict,
      m = s.memory.api;
    const refused = Object.values(s.refused_while_down).reduce((n, x) => n + x, 0);
    lines.push(
      `| ${s.date.slice(0, 10)}, ${s.config.store}, ${Math.round(s.config.seconds / 60)} min, /predict at ${s.config.predict_rate_per_s}/s${s.config.measured_peak_per_s ? ` (of a measured peak of ${s.config.measured_peak_per_s}/s)` : ''} | ${faultsText(s)} | ` +
        `${p.answered}/${p.sent} (${p.lost}, ${p.wrong}); p50 ${p.p50_ms} ms, p99 ${p.p99_ms} ms | ${b.answered}/${b.images} (${b.lost}, ${b.duplicated}, ${b.wrong}, ${b.out_of_order}) | ${s.errors.count} | ${refused} | ${m.start_mb}, ${m.peak_mb}, ${m.end_mb} MB |`,
    );
  }
  return lines;
}

function readJson<T>(file: string): T | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null;
}

/** The soak runs that have results, SQLite's first. */
const soakResults = () => [SOAK_RESULTS.sqlite, SOAK_RESULTS.redis].map((f) => readJson<SoakResults>(f)).filter((s): s is SoakResults => s !== null);

const fixed = (x: number | null, digits = 3) => (x === null ? '-' : x.toFixed(digits));
const interval = (ci: readonly number[] | null | undefined) => (ci ? ` (${fixed(ci[0]!)}-${fixed(ci[1]!)})` : '');

/** The bundled model's figures on its committed real evaluation set (artifacts/latest/metrics.json). */
export function renderModelFigures(): string {
  const m = readEvalRecord(LATEST);
  if (!m) throw new Error(`${LATEST} has no evaluation record (metrics.json)`);
  const g = m.groups;
  const rows = [
    `| what \`${m.model_version}\` scores on \`${m.data.name}\` (${m.data.images.toLocaleString('en')} real K49 test images, ${m.classes_present} classes) | figure (95 % interval) |`,
    '| --- | --- |',
    `| accuracy | ${fixed(m.accuracy)} |`,
    `| balanced accuracy (mean recall over the classes present) | ${fixed(m.balanced_accuracy)}${interval(m.balanced_accuracy_ci95)} |`,
  ];
  if (g) {
    rows.push(
      `| mean recall, the ${g.real_training_images.classes.length} classes with real training images labelled by people | ${fixed(g.real_training_images.mean_recall)}${interval(g.real_training_images.ci95)} |`,
    );
    rows.push(
      `| mean recall, the other ${g.no_real_training_images.classes.length} classes | ${fixed(g.no_real_training_images.mean_recall)}${interval(g.no_real_training_images.ci95)} |`,
    );
  }
  return rows.join('\n');
}

type Serve = NonNullable<BenchResults['serve']>;

/** This service beside the replaced system, /predict at each concurrency (when `make bench PEER=1` ran it), or why it did not run. */
function renderPeer(serve: Serve): string[] {
  const peer = serve.peer;
  if (!peer) return [];
  if (!peer.started) return ['', `The replaced system could not be started in this run, so it is not compared: ${peer.reason}`];
  type Run = { connections: number; requests_per_second: number; p50_ms: number; p99_ms: number; errors: number; rounds: number[] };
  const ours = serve.predict as unknown as (Run & { dynamic_batching: boolean })[];
  const lines = [
    '',
    `\`/predict\` beside ${peer.system}, in the same run on the same machine, the same real PNG, rounds alternating (medians of ${peer.predict[0]!.rounds.length}):`,
    '',
    '| concurrency | this service | the replaced system | ratio |',
    '| --- | --- | --- | --- |',
  ];
  for (const theirs of peer.predict as Run[]) {
    const mine = ours.find((x) => x.dynamic_batching && x.connections === theirs.connections)!;
    const ratio = peer.versus.find((v) => v.connections === theirs.connections)!.ratio;
    const cell = (x: Run) => `${x.requests_per_second} req/s, p50 ${ms(x.p50_ms)}, p99 ${ms(x.p99_ms)}, ${x.errors} errors`;
    lines.push(`| ${theirs.connections} | ${cell(mine)} | ${cell(theirs)} | ${ratio}x |`);
  }
  return lines;
}

/** Where a 10,000-image batch's CPU goes (its median round), by process and thread, beside what the model alone takes for as many images. */
function renderBatchCpu(serve: Serve, cpus: number): string[] {
  const b = serve.batch;
  const c = b?.cpu_seconds;
  if (!b || !c) return [];
  const total = c.api_event_loop + c.api_other_threads + c.worker_event_loop + c.worker_model_threads + (c.worker_runtime_threads ?? 0) + c.client;
  return [
    '',
    `CPU seconds of that batch (${b.images.toLocaleString('en')} images, its median round; ${b.end_to_end_seconds} s end to end on ${cpus} cores):`,
    '',
    '| API event loop (upload, multipart, store writes) | API other threads | worker event loop (claims, decoding, result writes) | worker model threads | worker runtime threads (V8 garbage collection) | client | total | the model alone, as many images |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${c.api_event_loop} | ${c.api_other_threads} | ${c.worker_event_loop} | ${c.worker_model_threads} | ${c.worker_runtime_threads ?? 'not measured apart'} | ${c.client} | ${total.toFixed(2)} | ${c.model_alone} |`,
  ];
}

/** The README's few serving and training figures: one line per measure, from bench/results.json. */
function renderPerformanceSummary(r: BenchResults): string {
  const lines = [
    `Measured by \`make bench\` on ${r.date.slice(0, 10)} on ${r.machine.cpus} cores (${r.machine.cpu_model}); the whole table is in [docs/performance.md](docs/performance.md).`,
    '',
    '| measure | figure |',
    '| --- | --- |',
  ];
  type PredictRun = { dynamic_batching: boolean; connections: number; requests_per_second: number; p50_ms: number; p99_ms: number };
  for (const p of ((r.serve?.predict ?? []) as PredictRun[]).filter((x) => x.dynamic_batching)) {
    lines.push(
      `| \`/predict\`, ${p.connections === 1 ? 'one client at a time' : `${p.connections} concurrent clients`} | ${p.requests_per_second} req/s, p50 ${ms(p.p50_ms)}, p99 ${ms(p.p99_ms)} |`,
    );
  }
  const pg = r.serve?.page;
  if (pg)
    lines.push(
      `| \`/pages\`: a ${pg.width.toLocaleString('en')} x ${pg.height.toLocaleString('en')} page (${pg.characters} characters) read | ${pg.median_seconds} s |`,
    );
  const b = r.serve?.batch;
  if (b)
    lines.push(
      `| \`/batch_predict\` of ${b.images.toLocaleString('en')} images, one worker, end to end | ${b.end_to_end_images_per_second} img/s (${b.share_of_model_speed} of the model's own batch-256 speed) |`,
    );
  const web = r.serve?.browser;
  if (web) {
    const where = `${web.browser}, ${BACKEND_NAMES[web.backend]}${'date' in web ? `, ${String(web.date).slice(0, 10)}` : ''}`;
    lines.push(
      `| in the browser (${where}): first load of the model and its runtime | ${(web.first_load.transfer_bytes / 1e6).toFixed(2)} MB |`,
      `| in the browser: answer after a stroke's end, network cut | p50 ${web.strokes_offline.p50_ms} ms, p95 ${web.strokes_offline.p95_ms} ms (${web.strokes_offline.strokes} strokes) |`,
      `| in the browser: ${web.parity.images} real-sample uploads against \`/predict\` | ${web.parity.same_class}/${web.parity.images} the same class, probabilities within ${web.parity.max_abs_diff.toExponential(1)} |`,
    );
  }
  const bundled = r.model?.training.find((t) => /2 convs per stage/.test(t.architecture));
  if (bundled) lines.push(`| training the bundled architecture (full recipe, batch ${bundled.batch_size}) | ${bundled.full_recipe_images_per_second} img/s |`);
  if (r.serve) lines.push(...renderPeer(r.serve), ...renderBatchCpu(r.serve, r.machine.cpus));
  lines.push(...renderSoaks(soakResults()));
  return lines.join('\n');
}

/** One generated block: the file it is in, its name in the markers, where its figures come from, and its text. */
interface GeneratedBlock {
  file: string;
  name: string;
  source: string;
  render(): string;
}

const DOCS_PERFORMANCE = path.join(DOCS_DIR, 'performance.md');

export const GENERATED_BLOCKS: GeneratedBlock[] = [
  { file: README, name: 'model', source: 'artifacts/latest/metrics.json', render: renderModelFigures },
  {
    file: README,
    name: 'performance',
    source: 'bench/results.json and bench/soak*.json',
    render: () => renderPerformanceSummary(readJson<BenchResults>(RESULTS)!),
  },
  {
    file: DOCS_PERFORMANCE,
    name: 'performance',
    source: 'bench/results.json and bench/soak*.json',
    render: () => renderPerformance(readJson<BenchResults>(RESULTS)!, soakResults()),
  },
];

const END = '<!-- generated:end -->';
const startMarker = (b: GeneratedBlock) => `<!-- generated:${b.name}: written by \`make docs\` from ${b.source}; do not edit by hand -->`;

/** Where block `b` lies in `text` (from its start marker to the end marker), or null when its markers are missing. */
function locate(text: string, b: GeneratedBlock): { from: number; to: number } | null {
  const from = text.indexOf(`<!-- generated:${b.name}`);
  const end = from < 0 ? -1 : text.indexOf(END, from);
  return end < 0 ? null : { from, to: end + END.length };
}

const expected = (b: GeneratedBlock) => `${startMarker(b)}\n${b.render()}\n${END}`;

/** The blocks whose text differs from what their results files give (missing markers count), as `file: name`. */
export function staleBlocks(read = (file: string) => readFileSync(file, 'utf8')): string[] {
  return GENERATED_BLOCKS.filter((b) => {
    const text = read(b.file);
    const at = locate(text, b);
    return !at || text.slice(at.from, at.to) !== expected(b);
  }).map((b) => `${path.relative(PROJECT_ROOT, b.file)}: ${b.name}`);
}

/** `make docs`: rewrites every generated block from its results file. */
export function updateDocs(): string[] {
  const changed: string[] = [];
  for (const b of GENERATED_BLOCKS) {
    const text = readFileSync(b.file, 'utf8');
    const at = locate(text, b);
    if (!at)
      throw new Error(
        `${path.relative(PROJECT_ROOT, b.file)} has no generated block '${b.name}' (a line starting <!-- generated:${b.name} and a later ${END})`,
      );
    const next = text.slice(0, at.from) + expected(b) + text.slice(at.to);
    if (next !== text) {
      writeFileSync(b.file, next);
      changed.push(`${path.relative(PROJECT_ROOT, b.file)}: ${b.name}`);
    }
  }
  return changed;
}
