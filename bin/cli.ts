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
const program = new Command('k49').description('Kuzushiji-49 hiragana recognition: data, training, evaluation, service');

const dataOption = () => new Option('--data <dir>', 'directory of K49-format files (DATA=)');
const outOption = () => new Option('--out <dir>', 'output directory (OUT=)');
const configOption = () => new Option('--config <file>', 'JSON config file (CONFIG=)');
const modelOption = () => new Option('--model <dir>', 'artifact directory (MODEL=)').default('artifacts/latest');

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

function runScript(script: string): never {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', script)], { stdio: 'inherit', cwd: ROOT });
  process.exit(r.status ?? 1);
}

function notImplemented(what: string, issue: string): never {
  console.error(`k49 ${what}: not implemented yet (${issue}).`);
  process.exit(2);
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
  .addOption(dataOption())
  .addOption(outOption())
  .action(() => notImplemented('eda', 'EDA and notebooks issue'));
program
  .command('train')
  .addOption(dataOption())
  .addOption(configOption())
  .addOption(outOption())
  .action(() => notImplemented('train', 'training issue'));
program
  .command('evaluate')
  .addOption(dataOption())
  .addOption(modelOption())
  .addOption(outOption())
  .action(() => notImplemented('evaluate', 'training issue'));
for (const name of ['serve', 'worker', 'run']) {
  program.command(name).addOption(modelOption()).action(() => notImplemented(name, 'service issue'));
}
program.command('notebooks').action(() => notImplemented('notebooks', 'EDA and notebooks issue'));
program
  .command('bench')
  .addOption(outOption())
  .action(() => notImplemented('bench', 'training and service issues'));

program.parseAsync(process.argv);
