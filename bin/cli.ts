/**
 * The `k49` command line: one subcommand per Makefile target, so `make X`
 * and `npx k49 X` do the same thing. Options mirror the Makefile variables
 * DATA=, MODEL=, OUT=, CONFIG=.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';

const ROOT = path.resolve(__dirname, '..');
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const program = new Command('k49')
  .description('Kuzushiji-49 hiragana recognition: data, training, evaluation, service')
  .version(version, '-V, --version', 'print the version of k49');

const dataOption = () => new Option('--data <dir>', 'directory of K49-format files (DATA=)');
const outOption = () => new Option('--out <dir>', 'output directory (OUT=)');
const configOption = () => new Option('--config <file>', 'JSON config file (CONFIG=)');
const modelOption = () => new Option('--model <dir>', 'artifact directory (MODEL=; default artifacts/latest)');

/** Loads a module only when its command runs, keeping `k49 --help` fast (TensorFlow takes seconds). */
function load<T>(module: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(module) as T;
}

function readConfig<T extends object>(defaults: T, file?: string): T {
  if (!file) return defaults;
  const overrides = JSON.parse(readFileSync(file, 'utf8')) as Partial<T>;
  return { ...defaults, ...overrides };
}

/** DATA default: the official files when present, else the synthetic set. */
function defaultDataDir(): string {
  const { hasSplit } = load<typeof import('../pipeline/dataset')>('../pipeline/dataset');
  for (const dir of ['data/k49', 'data/synth']) if (hasSplit(path.join(ROOT, dir), 'train')) return path.join(ROOT, dir);
  throw new Error('No training data: run `make data` (official K49) or `make synth` (synthetic), or pass DATA=<dir>.');
}

function runScript(script: string): never {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', script)], { stdio: 'inherit', cwd: ROOT });
  process.exit(r.status ?? 1);
}

/** Runs an async action and turns errors into a one-paragraph message and exit code 1. */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return (...args: A) =>
    fn(...args).catch((e: Error) => {
      console.error(`\nerror: ${e.message}`);
      if (process.env.K49_DEBUG) console.error(e.stack);
      process.exit(1);
    });
}

program
  .command('setup')
  .description('install dependencies and native TensorFlow (idempotent)')
  .action(() => runScript('setup.sh'));

program
  .command('test')
  .description('set up, then run the test suite')
  .action(() => runScript('test.sh'));

program
  .command('data')
  .description('download the official K49 files with md5 verification and resume')
  .addOption(dataOption().default('data/k49'))
  .option('--base-url <url>', 'mirror of the official directory (or K49_BASE_URL)')
  .action(
    action(async (opts: { data: string; baseUrl?: string }) => {
      const { downloadK49 } = load<typeof import('../pipeline/download')>('../pipeline/download');
      const fetched = await downloadK49(opts.data, { baseUrl: opts.baseUrl });
      console.log(`K49 files in ${opts.data}: all verified (${fetched.length} downloaded now).`);
    }),
  );

program
  .command('synth')
  .description('render a synthetic K49-format data set from Japanese fonts')
  .addOption(outOption().default('data/synth'))
  .addOption(configOption())
  .option('--train-per-class <n>', 'train images per class', (v) => parseInt(v, 10))
  .option('--test-per-class <n>', 'test images per class', (v) => parseInt(v, 10))
  .option('--seed <n>', 'random seed', (v) => parseInt(v, 10))
  .action(
    action(async (opts: { out: string; config?: string; trainPerClass?: number; testPerClass?: number; seed?: number }) => {
      const { generateSynthetic, DEFAULT_SYNTH } = load<typeof import('../pipeline/synth/generate')>('../pipeline/synth/generate');
      const config = readConfig(DEFAULT_SYNTH, opts.config);
      if (opts.trainPerClass !== undefined) config.trainPerClass = opts.trainPerClass;
      if (opts.testPerClass !== undefined) config.testPerClass = opts.testPerClass;
      if (opts.seed !== undefined) config.seed = opts.seed;
      await generateSynthetic(opts.out, config);
    }),
  );

program
  .command('eda')
  .description('dataset statistics: self-contained HTML report + PNG figures')
  .addOption(dataOption())
  .addOption(outOption())
  .action(
    action(async (opts: { data?: string; out?: string }) => {
      const { runEda, defaultEdaOut } = load<typeof import('../pipeline/eda')>('../pipeline/eda');
      const data = opts.data ?? defaultDataDir();
      await runEda(data, opts.out ?? defaultEdaOut(data));
    }),
  );
program
  .command('train')
  .description('train a CNN on a K49-format directory and write a versioned artifact')
  .addOption(dataOption())
  .addOption(configOption())
  .addOption(outOption())
  .option('--resume', 'continue the run in --out from its last checkpoint')
  .option('--baseline', "use the replaced system's recipe (2 conv + FC128, 12 epochs, no augmentation)")
  .action(
    action(async (opts: { data?: string; config?: string; out?: string; resume?: boolean; baseline?: boolean }) => {
      const { train, DEFAULT_TRAIN, BASELINE_TRAIN, mergeConfig } = load<typeof import('../pipeline/train')>('../pipeline/train');
      const base = opts.baseline ? BASELINE_TRAIN : DEFAULT_TRAIN;
      const config = opts.config ? mergeConfig(base, JSON.parse(readFileSync(opts.config, 'utf8'))) : base;
      if (opts.resume && !opts.out) throw new Error('--resume needs OUT=<artifact dir> of the run to continue');
      await train({ data: opts.data ?? defaultDataDir(), out: opts.out, config, resume: opts.resume });
    }),
  );

program
  .command('evaluate')
  .description('evaluate an artifact on a K49-format test split and write reports')
  .addOption(dataOption())
  .option('--model <dir>', 'artifact directory (MODEL=); default: the artifact just trained, else artifacts/latest')
  .addOption(outOption())
  .action(
    action(async (opts: { data?: string; model?: string; out?: string }) => {
      const { evaluate } = load<typeof import('../pipeline/evaluate')>('../pipeline/evaluate');
      await evaluate(opts);
    }),
  );
/** MODEL= for the service commands: passed on through the environment the service reads. */
const withModel = (opts: { model?: string }) => {
  if (opts.model) process.env.MODEL = path.resolve(opts.model);
};
program
  .command('serve')
  .description('the REST API (PORT, default 8339)')
  .addOption(modelOption())
  .action((opts: { model?: string }) => {
    withModel(opts);
    load<typeof import('../serve/server')>('../serve/server').startServer().then(
      (running) => {
        const { host, port } = running.services.config;
        const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
        console.log(`K49 service ready: open http://${shown}:${port}/ in a browser (API docs at http://${shown}:${port}/docs)`);
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => running.close().then(() => process.exit(0)));
      },
      (e: Error) => {
        console.error(`cannot start the API: ${e.message}`);
        process.exit(1);
      },
    );
  });
program
  .command('worker')
  .description('a batch worker on the task queue (QUEUE_URL)')
  .addOption(modelOption())
  .action(
    action(async (opts: { model?: string }) => {
      withModel(opts);
      await load<typeof import('../serve/worker')>('../serve/worker').runWorker();
      process.exit(0);
    }),
  );
program
  .command('run')
  .description('the API and one worker in the foreground (Ctrl-C stops both)')
  .addOption(modelOption())
  .action((opts: { model?: string }) => {
    withModel(opts);
    load<typeof import('../serve/run')>('../serve/run').runAll();
  });
program
  .command('feedback')
  .description("export users' corrections (POST /feedback) as K49-format training data + corrections.csv")
  .addOption(new Option('--out <dir>', 'output directory (OUT=)').makeOptionMandatory())
  .option('--queue-url <url>', 'the task store holding them (QUEUE_URL; default as the service: sqlite:var/tasks.db)')
  .action(
    action(async (opts: { out: string; queueUrl?: string }) => {
      const { loadConfig, storeOptions } = load<typeof import('../serve/config')>('../serve/config');
      const { openStore } = load<typeof import('../serve/queue/store')>('../serve/queue/store');
      const { exportFeedback } = load<typeof import('../serve/feedback')>('../serve/feedback');
      const config = loadConfig(opts.queueUrl ? { queueUrl: opts.queueUrl } : {});
      const store = await openStore(config.queueUrl, storeOptions(config));
      try {
        const { images, corrections } = await exportFeedback(await store.listFeedback(), opts.out);
        console.log(`${images} corrected images (${corrections} corrections) in ${opts.out}: k49-train-imgs.npz, k49-train-labels.npz, corrections.csv`);
        console.log(`train on them with: make train DATA=${opts.out}`);
      } finally {
        await store.close();
      }
    }),
  );
program
  .command('notebooks')
  .description('execute the tslab notebooks headless (installs Jupyter nbconvert and the tslab kernel)')
  .action(() => runScript('notebooks.sh'));
program
  .command('bench')
  .description('training, inference and serving benchmarks -> bench/results.json')
  .addOption(outOption())
  .option('--only <part>', 'model or serve')
  .option('--seconds <n>', 'duration of each load run', (v) => parseInt(v, 10))
  .action(
    action(async (opts: { out?: string; only?: 'model' | 'serve'; seconds?: number }) => {
      await load<typeof import('./../bench/run')>('../bench/run').runBench(opts);
      process.exit(0);
    }),
  );

program
  .command('soak')
  .description('bounded soak run on loopback: steady mixed /predict and /batch_predict traffic -> bench/soak.json')
  .addOption(outOption())
  .option('--seconds <n>', 'duration', (v) => parseInt(v, 10), 180)
  .option('--rate <n>', '/predict requests per second', (v) => parseInt(v, 10), 20)
  .action(
    action(async (opts: { out?: string; seconds: number; rate: number }) => {
      const r = await load<typeof import('./../bench/soak')>('../bench/soak').runSoak(opts);
      process.exit(r.errors.count === 0 ? 0 : 1);
    }),
  );

program.parseAsync(process.argv);
