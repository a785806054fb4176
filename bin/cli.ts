/**
 * The `k49` command line: one subcommand per Makefile target, so `make X`
 * and `npx k49 X` do the same thing. Every option also reads the variable
 * named in its help (`env: DATA`): `make train DATA=... RESUME=1` passes
 * them on through the environment, so this table is the only list of them.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Command, Option } from 'commander';
import { KMNIST_REAL_DIR, OFFICIAL_DATA_DIR, PAGE_CROPS_DIR, PROJECT_ROOT, SCRIPTS_DIR, SYNTH_DATA_DIR } from '../pipeline/core/paths';
import { VERSION } from '../pipeline/core/version';

const integer = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got '${v}'`);
  return n;
};
const dataOption = (what = 'directory of K49-format files') => new Option('--data <dir>', what).env('DATA');
const outOption = (what = 'output directory') => new Option('--out <dir>', what).env('OUT');
const configOption = () => new Option('--config <file>', 'JSON file of settings merged over the defaults').env('CONFIG');
const modelOption = (what = 'artifact directory (default artifacts/latest)') => new Option('--model <dir>', what).env('MODEL');
const durationOption = (seconds: number) => new Option('--duration <seconds>', 'length of each load run').env('DURATION').argParser(integer).default(seconds);

/** DATA default for training and EDA: the official files when present, else the synthetic set. */
function defaultDataDir(): string {
  const { hasSplit } = require('../pipeline/core/dataset') as typeof import('../pipeline/core/dataset');
  for (const dir of [OFFICIAL_DATA_DIR, SYNTH_DATA_DIR]) if (hasSplit(dir, 'train')) return dir;
  throw new Error('No training data: run `make data` (official K49) or `make synth` (synthetic), or pass DATA=<dir>.');
}

function runScript(script: string, ...args: string[]): never {
  const r = spawnSync('bash', [path.join(SCRIPTS_DIR, script), ...args], { stdio: 'inherit', cwd: PROJECT_ROOT });
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

/** Exits cleanly on Ctrl-C / SIGTERM after `close` (the API finishes in-flight requests). */
function stopOnSignals(close: () => Promise<void>): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void close().then(() => process.exit(0)));
}

/** MODEL for the service commands: the service reads it from the environment, as in a container. */
const withModel = (opts: { model?: string }) => {
  if (opts.model) process.env.MODEL = path.resolve(opts.model);
};

/** Each command's variables, from its options: the list `make help` shows. */
function variablesHelp(program: Command): string {
  const rows = program.commands
    .map((c) => [c.name(), c.options.flatMap((o) => (o.envVar ? [`${o.envVar}=`] : []))] as const)
    .filter(([, vars]) => vars.length > 0)
    .map(([name, vars]) => `  ${name.padEnd(10)} ${vars.join(' ')}`);
  return [
    'Variables: every option can be given as a variable, `make train DATA=data/synth CONFIG=configs/smoke.json`',
    'or `DATA=data/synth npx k49 train` (a flag: RESUME=1 on, RESUME=0 off); `k49 <command> --help` describes them.',
    ...rows,
  ].join('\n');
}

/** A flag set from its variable is off when the variable says so (RESUME=0, =false, =no or empty); commander takes any value as on. */
function flagsOffFromEnv(command: Command): void {
  for (const o of command.options) {
    const key = o.attributeName();
    if (o.envVar && o.isBoolean() && command.getOptionValueSource(key) === 'env' && /^(0|false|no|)$/i.test(process.env[o.envVar] ?? '')) {
      command.setOptionValueWithSource(key, false, 'env');
    }
  }
}

// Each command's module is required only when the command runs, keeping `k49 --help` fast (TensorFlow takes seconds).
export function buildProgram(): Command {
  const program: Command = new Command('k49')
    .description('Kuzushiji-49 hiragana recognition: data, training, evaluation, service')
    .version(VERSION, '-V, --version', 'print the version of k49')
    .addHelpText('after', (): string => `\n${variablesHelp(program)}`)
    .hook('preAction', (_program, command) => flagsOffFromEnv(command));

  program
    .command('setup')
    .argument(
      '[purpose]',
      'serve (make setup), train (make setup-train: + the fonts), bench (make setup-bench: + Chromium, redis-server) or test (+ Jupyter)',
      'serve',
    )
    .description('install dependencies and native TensorFlow for a purpose (idempotent)')
    .action((purpose: string) => runScript('setup.sh', purpose));

  program
    .command('test')
    .description('set up, then run the test suite')
    .action(() => runScript('test.sh'));

  program
    .command('data')
    .description('download the official K49 files with md5 verification and resume')
    .addOption(dataOption('where the files go').default(path.relative(PROJECT_ROOT, OFFICIAL_DATA_DIR)))
    .addOption(new Option('--base-url <url>', 'mirror of the official directory').env('K49_BASE_URL'))
    .action(
      action(async (opts: { data: string; baseUrl?: string }) => {
        const { downloadK49 } = require('../pipeline/data/download') as typeof import('../pipeline/data/download');
        const fetched = await downloadK49(opts.data, { baseUrl: opts.baseUrl });
        console.log(`K49 files in ${opts.data}: all verified (${fetched.length} downloaded now).`);
      }),
    );

  program
    .command('synth')
    .description('render a synthetic K49-format data set from Japanese fonts')
    .addOption(dataOption('where the data set goes').default(path.relative(PROJECT_ROOT, SYNTH_DATA_DIR)))
    .addOption(configOption())
    .addOption(new Option('--train-per-class <n>', 'train images per class').env('TRAIN_PER_CLASS').argParser(integer))
    .addOption(new Option('--test-per-class <n>', 'test images per class').env('TEST_PER_CLASS').argParser(integer))
    .addOption(new Option('--seed <n>', 'random seed').env('SEED').argParser(integer))
    .action(
      action(async (opts: { data: string; config?: string; trainPerClass?: number; testPerClass?: number; seed?: number }) => {
        const { generateSynthetic } = require('../pipeline/synth/generate') as typeof import('../pipeline/synth/generate');
        const { loadSynthConfig } = require('../pipeline/synth/config') as typeof import('../pipeline/synth/config');
        const config = loadSynthConfig(opts.config);
        if (opts.trainPerClass !== undefined) config.trainPerClass = opts.trainPerClass;
        if (opts.testPerClass !== undefined) config.testPerClass = opts.testPerClass;
        if (opts.seed !== undefined) config.seed = opts.seed;
        await generateSynthetic(opts.data, config);
      }),
    );

  program
    .command('eda')
    .description('dataset statistics: self-contained HTML report + PNG figures')
    .addOption(dataOption('directory of K49-format files (default data/k49, else data/synth)'))
    .addOption(outOption('report directory (default artifacts/eda/<data set>)'))
    .action(
      action(async (opts: { data?: string; out?: string }) => {
        const { runEda, defaultEdaOut } = require('../pipeline/eda/eda') as typeof import('../pipeline/eda/eda');
        const data = opts.data ?? defaultDataDir();
        await runEda(data, opts.out ?? defaultEdaOut(data));
      }),
    );

  program
    .command('train')
    .description('train a CNN on K49-format directories and write a versioned artifact')
    .addOption(dataOption('K49-format directories, each with an optional weight: a,b:2 (default data/k49, else data/synth)'))
    .addOption(configOption())
    .addOption(outOption('artifact directory (default artifacts/<architecture>-<time>)'))
    .addOption(new Option('--resume', 'continue the run in --out from its last checkpoint').env('RESUME'))
    .addOption(new Option('--baseline', "start from the replaced system's recipe (2 conv + FC128, 12 epochs, no augmentation)").env('BASELINE'))
    .action(
      action(async (opts: { data?: string; config?: string; out?: string; resume?: boolean; baseline?: boolean }) => {
        const { loadTrainConfig } = require('../pipeline/train/config') as typeof import('../pipeline/train/config');
        // Settings are checked before TensorFlow and the data are loaded.
        const config = loadTrainConfig(opts.config, opts.baseline);
        if (opts.resume && !opts.out) throw new Error('--resume needs OUT=<artifact dir> of the run to continue');
        const { train } = require('../pipeline/train/loop') as typeof import('../pipeline/train/loop');
        await train({ data: opts.data ?? defaultDataDir(), out: opts.out, config, resume: opts.resume });
      }),
    );

  program
    .command('evaluate')
    .description('evaluate an artifact on a K49-format test split and write reports')
    .addOption(dataOption('directory with k49-test-imgs.npz and k49-test-labels.npz (default data/k49, else the training data)'))
    .addOption(modelOption('artifact directory (default: the artifact just trained, else artifacts/latest)'))
    .addOption(outOption("report directory (default reports/<artifact>/<data>; a new artifact's first evaluation goes into the artifact itself)"))
    .addOption(
      new Option(
        '--record',
        "write the evaluation into the artifact as its own record (its card, and latest when it is the artifact's own data set): a maintainer's step, e.g. after retraining",
      ).env('RECORD'),
    )
    .addOption(
      new Option(
        '--split <split>',
        "which split of DATA: test, or train for a model that never trained on it (e.g. a synthetic-only model on kmnist-real's real training images)",
      )
        .env('SPLIT')
        .choices(['test', 'train'])
        .default('test'),
    )
    .action(
      action(async (opts: { data?: string; model?: string; out?: string; split?: 'test' | 'train'; record?: boolean }) => {
        const { evaluate } = require('../pipeline/evaluate/evaluate') as typeof import('../pipeline/evaluate/evaluate');
        await evaluate(opts);
      }),
    );

  program
    .command('serve')
    .description('the REST API (PORT, default 8339)')
    .addOption(modelOption())
    .action(
      action(async (opts: { model?: string }) => {
        withModel(opts);
        const running = await (require('../serve/api/server') as typeof import('../serve/api/server')).startServer();
        const { host, port } = running.services.config;
        const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
        console.log(`K49 service ready: open http://${shown}:${port}/ in a browser (API docs at http://${shown}:${port}/docs)`);
        stopOnSignals(running.close);
      }),
    );

  program
    .command('worker')
    .description('a batch worker on the task queue (QUEUE_URL)')
    .addOption(modelOption())
    .action(
      action(async (opts: { model?: string }) => {
        withModel(opts);
        await (require('../serve/worker/worker') as typeof import('../serve/worker/worker')).runWorker();
        process.exit(0);
      }),
    );

  program
    .command('run')
    .description('the API and one worker in the foreground (Ctrl-C stops both)')
    .addOption(modelOption())
    .action(
      action(async (opts: { model?: string }) => {
        withModel(opts);
        (require('../serve/run') as typeof import('../serve/run')).runAll();
      }),
    );

  program
    .command('crops')
    .description("cut the characters of a folder of page scans into a K49-format set with the model's pseudo-labels, dropping possible K49 test images")
    .addOption(new Option('--pages <dir>', 'folder of page scans').env('PAGES').makeOptionMandatory())
    .addOption(dataOption('where the crop set goes').makeOptionMandatory())
    .addOption(modelOption('artifact that gives the pseudo-labels (default artifacts/latest)'))
    .action(
      action(async (opts: { pages: string; data: string; model?: string }) => {
        const { cutCrops } = require('../pipeline/page/crops') as typeof import('../pipeline/page/crops');
        await cutCrops(opts);
      }),
    );

  program
    .command('pseudo-label')
    .description(
      'label a crop set (k49 crops) with a teacher adapted to real ink: the crops its views agree on, class-balanced, as a real training source (pipeline/data/pseudo-labels.ts)',
    )
    .addOption(new Option('--crops <dir>', 'the crop set').env('CROPS').default(PAGE_CROPS_DIR))
    .addOption(
      new Option('--adapt <dirs>', "real labelled K49-format sets whose images, with the crops', set the teacher's batch-norm statistics (comma-separated)")
        .env('ADAPT')
        .default(KMNIST_REAL_DIR),
    )
    .addOption(dataOption('where the pseudo-labelled set goes').makeOptionMandatory())
    .addOption(modelOption('the teacher (default artifacts/latest)'))
    .action(
      action(async (opts: { crops: string; adapt: string; data: string; model?: string }) => {
        const { makePseudoLabels } = require('../pipeline/data/pseudo-labels') as typeof import('../pipeline/data/pseudo-labels');
        await makePseudoLabels({ model: opts.model, crops: opts.crops, adapt: opts.adapt.split(','), out: opts.data });
      }),
    );

  program
    .command('read')
    .description(
      'read page scans: find each character, read it, and print the hiragana in reading order (a column per line, 〓 for others; pages apart by a blank line)',
    )
    .argument('[pages...]', 'page scans (JPEG, PNG, TIFF, WebP...) or folders of them (a book: its scans in name order); or FILE=')
    .addOption(new Option('--file <path>', 'a page scan, or a folder of them').env('FILE'))
    .addOption(modelOption())
    .addOption(new Option('--json', 'print the whole answer as JSON, as POST /pages gives it (several pages: a list, each with its file)').env('JSON'))
    .addOption(new Option('--text', 'print the text alone').env('TEXT'))
    .addOption(
      new Option('--picture <path>', 'also write the page with each box drawn, coloured by confidence (several pages: a folder, a JPEG per page)').env(
        'PICTURE',
      ),
    )
    .addOption(new Option('--max-characters <n>', 'characters a page may hold').env('MAX_PAGE_CHARACTERS').argParser(integer).default(1000))
    .action(
      action(async (pages: string[], opts: { file?: string; model?: string; json?: boolean; text?: boolean; picture?: string; maxCharacters: number }) => {
        const named = pages.length > 0 ? pages : opts.file ? [opts.file] : [];
        if (named.length === 0) throw new Error('name the page to read: k49 read page.jpg, or a folder of pages (make read FILE=page.jpg)');
        const { readPageFiles } = require('../pipeline/page/cli') as typeof import('../pipeline/page/cli');
        await readPageFiles(named, opts);
      }),
    );

  program
    .command('feedback')
    .description("export users' corrections (POST /feedback) as K49-format training data + corrections.csv")
    .addOption(dataOption('where the exported data set goes').makeOptionMandatory())
    .addOption(new Option('--queue-url <url>', 'the task store holding them (default as the service: sqlite:var/tasks.db)').env('QUEUE_URL'))
    .addOption(
      new Option(
        '--pages <dir>',
        'folder of the page scans people corrected characters of in the Page tab, as they were read: those characters are checked by place',
      ).env('PAGES'),
    )
    .action(
      action(async (opts: { data: string; queueUrl?: string; pages?: string }) => {
        const { loadConfig, storeOptions } = require('../serve/config') as typeof import('../serve/config');
        const { openStore } = require('../serve/queue/open') as typeof import('../serve/queue/open');
        const { exportFeedback } = require('../serve/queue/feedback') as typeof import('../serve/queue/feedback');
        const { loadLeakReference } = require('../pipeline/data/leak') as typeof import('../pipeline/data/leak');
        const reference = await loadLeakReference();
        const config = loadConfig(opts.queueUrl ? { queueUrl: opts.queueUrl } : {});
        const store = await openStore(config.queueUrl, storeOptions(config));
        try {
          const done = await exportFeedback(await store.listFeedback(), opts.data, reference, opts.pages);
          console.log(
            `${done.images} images with people's labels (${done.feedback} answers, ${done.corrections} of them corrections of the model) in ${opts.data}: k49-train-imgs.npz, k49-train-labels.npz, corrections.csv, feedback.json`,
          );
          console.log(
            `${done.dropped_as_possible_test_images} more left out as possible K49 test images (${done.dropped_by_correlation} by correlation >= ${done.leak_correlation} with one of the ${done.leak_reference.images} images of ${done.leak_reference.dir}, ` +
              `${done.dropped_by_place} covering ${done.leak_cover} or more of where one lies on its page${done.pages ? `: ${done.pages.checked} page${done.pages.checked === 1 ? '' : 's'} of ${done.pages.dir} searched, ${done.pages.real_sample_images_found} found there` : ''}): a model must never train on a test image`,
          );
          if (done.left_out_pages_not_given > 0) {
            console.log(
              `${done.left_out_pages_not_given} more left out: characters corrected on pages whose scans ${opts.pages ? `are not in ${opts.pages}` : 'were not given'}, so they could not be checked by place; ` +
                'PAGES=dir, the folder of those scans as they were read (the same files), checks them and exports those that pass',
            );
          }
          console.log(
            'Mix them into the data the model learnt from; never train on them alone (a few images of a few classes would unlearn the rest). ' +
              'The bundled recipe with them added (make synth ... once: docs/data-and-training.md):\n' +
              `  make train evaluate DATA=data/synth-npm,../shared/data/kmnist-real:2,data/pseudo-labels-200010454,${opts.data}:2 CONFIG=configs/finetune-real.json`,
          );
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
    .command('lab')
    .description('Jupyter on localhost with the TypeScript kernel (tslab), opening notebooks/; prints the URL to open')
    .addOption(new Option('--port <port>', 'port of the Jupyter server').env('LAB_PORT').argParser(integer).default(8888))
    .action((opts: { port: number }) => {
      process.env.LAB_PORT = String(opts.port);
      runScript('lab.sh');
    });

  program
    .command('bench')
    .description('training, inference and serving benchmarks -> bench/results.json and the README table')
    .addOption(outOption('results file (default bench/results.json)'))
    .addOption(modelOption())
    .addOption(
      new Option('--compare <dir>', 'another artifact (e.g. the model this one replaces): batch-1 latency of both, alternating in one run').env('COMPARE'),
    )
    .addOption(new Option('--only <part>', 'run one part only (browser: the in-browser part of serve)').choices(['model', 'serve', 'browser']).env('ONLY'))
    .addOption(
      new Option(
        '--peer',
        'also serve the replaced FastAPI + PyTorch system (../shared/peer/k49-fastapi; installs its Debian packages once) and compare /predict, alternating rounds',
      ).env('PEER'),
    )
    .addOption(durationOption(10))
    .action(
      action(async (opts: { out?: string; model?: string; compare?: string; only?: 'model' | 'serve' | 'browser'; duration: number; peer?: boolean }) => {
        await (require('../bench/run') as typeof import('../bench/run')).runBench(opts);
        process.exit(0);
      }),
    );

  program
    .command('docs')
    .description(
      "rewrite the figures in README.md and docs/ that come from results files (the bundled model's evaluation record, bench/results.json, bench/soak.json)",
    )
    .action(
      action(async () => {
        const changed = (require('../bench/report') as typeof import('../bench/report')).updateDocs();
        console.log(changed.length ? `rewritten: ${changed.join(', ')}` : 'every generated figure already matches its results file');
      }),
    );

  program
    .command('load')
    .description("the benchmark's /predict load (one real K49 PNG per request) against any server, e.g. the system this one replaces")
    .addOption(new Option('--url <url>', 'base URL of the server (POSTs go to URL/predict)').env('URL').makeOptionMandatory())
    .addOption(new Option('--connections <list>', 'concurrencies to run, comma-separated').env('CONNECTIONS').default('1,32'))
    .addOption(durationOption(10))
    .action(
      action(async (opts: { url: string; connections: string; duration: number }) => {
        const connections = opts.connections.split(',').map((c) => integer(c.trim()));
        const results = await (require('../bench/load') as typeof import('../bench/load')).runLoad({ url: opts.url, connections, duration: opts.duration });
        process.exit(results.every((r) => r.errors === 0) ? 0 : 1);
      }),
    );

  program
    .command('soak')
    .description(
      'soak run on loopback: steady mixed /predict and /batch_predict traffic, with faults on a schedule, every accepted image checked -> bench/soak.json (bench/soak-redis.json)',
    )
    .addOption(outOption('results file (default bench/soak.json, or bench/soak-redis.json with STORE=redis)'))
    .addOption(modelOption())
    .addOption(durationOption(180))
    .addOption(
      new Option('--rate <n>', "/predict requests per second, or a share of the peak the soak's client measures first, e.g. 50%").env('RATE').default('20'),
    )
    .addOption(new Option('--store <store>', 'task store').choices(['sqlite', 'redis']).env('STORE').default('sqlite'))
    .addOption(
      new Option('--kill-worker-every <s>', 'kill the worker (SIGKILL) every s seconds and start a new one').env('KILL_WORKER_EVERY').argParser(integer),
    )
    .addOption(new Option('--restart-api-every <s>', 'restart the API (SIGTERM, then start) every s seconds').env('RESTART_API_EVERY').argParser(integer))
    .addOption(new Option('--restart-redis-every <s>', 'restart Redis every s seconds (STORE=redis)').env('RESTART_REDIS_EVERY').argParser(integer))
    .action(
      action(
        async (opts: {
          out?: string;
          model?: string;
          duration: number;
          rate: string;
          store: 'sqlite' | 'redis';
          killWorkerEvery?: number;
          restartApiEvery?: number;
          restartRedisEvery?: number;
        }) => {
          const r = await (require('../bench/run') as typeof import('../bench/run')).runSoakAndReport(opts);
          process.exit((require('../bench/soak') as typeof import('../bench/soak')).soakClean(r) ? 0 : 1);
        },
      ),
    );
  return program;
}
