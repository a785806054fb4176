/**
 * The data stage: fetches the official K49 files, resumes partial downloads,
 * verifies md5 against the official sums and renames into place atomically.
 * Files already present and verified are not fetched again.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SingleBar } from 'cli-progress';
import { md5File } from '../core/checksum';

const OFFICIAL_BASE_URL = 'http://codh.rois.ac.jp/kmnist/dataset/k49/';

/** The official files and their published md5 sums. */
export const K49_FILES: Readonly<Record<string, string>> = {
  'k49-train-imgs.npz': '7ac088b20481cf51dcd01ceaab89d821',
  'k49-train-labels.npz': '44a8e1b893f81e63ff38d73cad420f7a',
  'k49-test-imgs.npz': 'd352e201d846ce6b94f42c990966f374',
  'k49-test-labels.npz': '4da6f7a62e67a832d5eb1bd85c5ee448',
  'k49_classmap.csv': 'f7d0d0391f68bdf0fe4cf160ceb85753',
};

export interface DownloadOptions {
  baseUrl?: string;
  /** File name -> md5 to fetch; the official K49 files by default. */
  files?: Readonly<Record<string, string>>;
  /** Give up on a connection that stays silent this long (ms). */
  timeoutMs?: number;
  /** Attempts per file when a connection is cut (each one resumes). */
  retries?: number;
  progress?: boolean;
  log?: (line: string) => void;
}

export class DownloadError extends Error {
  override name = 'DownloadError';
}

async function sizeOf(file: string): Promise<number> {
  return fs.stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

interface Response {
  status: number;
  total: number | null;
  stream: http.IncomingMessage;
}

/** GET with an optional byte offset (Range), following redirects. */
function request(url: string, offset: number, timeoutMs: number, redirects = 5): Promise<Response> {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const headers: Record<string, string> = { 'User-Agent': 'k49-data-stage' };
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    const req = client.get(url, { headers, timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && redirects > 0) {
        res.resume();
        request(new URL(res.headers.location, url).toString(), offset, timeoutMs, redirects - 1).then(resolve, reject);
        return;
      }
      const length = Number(res.headers['content-length']);
      res.setTimeout(timeoutMs, () => res.destroy(new Error(`no data for ${timeoutMs / 1000} s`)));
      resolve({ status, total: Number.isFinite(length) ? length + (status === 206 ? offset : 0) : null, stream: res });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}

/** One attempt: appends to `part` from its current size. */
async function fetchInto(url: string, part: string, opts: Required<DownloadOptions>): Promise<void> {
  let offset = await sizeOf(part);
  const res = await request(url, offset, opts.timeoutMs);
  if (res.status === 416) {
    // The partial file already holds everything the server has.
    res.stream.resume();
    return;
  }
  if (res.status === 200 && offset > 0) {
    offset = 0; // server ignored Range: start over
  } else if (res.status !== 200 && res.status !== 206) {
    res.stream.resume();
    throw new DownloadError(`${url} answered HTTP ${res.status}`);
  }
  const bar = opts.progress
    ? new SingleBar({
        format: `  ${path.basename(part, '.part')} [{bar}] {percentage}% | {value}/{total} bytes | {speed} MB/s | ETA {eta}s`,
        noTTYOutput: true,
        notTTYSchedule: 5000,
        stream: process.stderr,
      })
    : null;
  bar?.start(res.total ?? 0, offset, { speed: '0.0' });
  const started = Date.now();
  let received = 0;
  res.stream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    bar?.update(offset + received, { speed: (received / seconds / 1e6).toFixed(1) });
  });
  try {
    await pipeline(res.stream, createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' }));
  } finally {
    bar?.stop();
  }
  if (res.total !== null && (await sizeOf(part)) < res.total) {
    throw new DownloadError(`connection closed early (${await sizeOf(part)} of ${res.total} bytes)`);
  }
}

function offlineHelp({ baseUrl, files }: Required<DownloadOptions>, dir: string, missing: string[], cause: string): string {
  const lines = missing.map((f) => `  ${new URL(f, baseUrl)}  (md5 ${files[f]})`);
  return [
    `Cannot download the K49 files: ${cause}`,
    `This machine seems to have no access to ${new URL(baseUrl).host}. Download these files on a machine that has,`,
    ...lines,
    `put them in ${path.resolve(dir)}/, and run \`make data\` again: files already there are verified (md5), not downloaded.`,
    `(A mirror can be used with K49_BASE_URL=<url> make data.)`,
  ].join('\n');
}

const isNetworkFailure = (e: unknown) =>
  ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH'].includes((e as NodeJS.ErrnoException).code ?? '');

/**
 * Makes sure every official file is in `dir` and verified. Returns the files
 * that were downloaded (already-verified ones are skipped).
 */
export async function downloadK49(dir: string, options: DownloadOptions = {}): Promise<string[]> {
  const opts: Required<DownloadOptions> = {
    files: options.files ?? K49_FILES,
    baseUrl: options.baseUrl ?? OFFICIAL_BASE_URL,
    timeoutMs: options.timeoutMs ?? 8000,
    retries: options.retries ?? 3,
    progress: options.progress ?? true,
    log: options.log ?? ((line) => console.error(line)),
  };
  if (!opts.baseUrl.endsWith('/')) opts.baseUrl += '/';
  await fs.mkdir(dir, { recursive: true });

  const missing: string[] = [];
  for (const [name, md5] of Object.entries(opts.files)) {
    const target = path.join(dir, name);
    if ((await sizeOf(target)) > 0 && (await md5File(target)) === md5) {
      opts.log(`${name}: present, md5 verified`);
    } else {
      missing.push(name);
    }
  }

  const fetched: string[] = [];
  for (const name of missing) {
    const target = path.join(dir, name);
    const part = `${target}.part`;
    const url = new URL(name, opts.baseUrl).toString();
    if ((await sizeOf(part)) > 0) opts.log(`${name}: resuming at byte ${await sizeOf(part)}`);
    for (let attempt = 1; ; attempt++) {
      try {
        await fetchInto(url, part, opts);
        break;
      } catch (e) {
        if (isNetworkFailure(e)) throw new DownloadError(offlineHelp(opts, dir, missing.slice(missing.indexOf(name)), (e as Error).message));
        if (e instanceof DownloadError && /HTTP [45]\d\d/.test(e.message)) {
          throw new DownloadError(`${e.message}. Check the URL or the mirror (K49_BASE_URL), then run \`make data\` again.`);
        }
        if (attempt >= opts.retries) {
          throw new DownloadError(
            `${name}: gave up after ${attempt} attempts (${(e as Error).message}); run \`make data\` again to resume from ${await sizeOf(part)} bytes.`,
          );
        }
        opts.log(`${name}: ${(e as Error).message}; retrying from byte ${await sizeOf(part)} (attempt ${attempt + 1}/${opts.retries})`);
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    const actual = await md5File(part);
    if (actual !== opts.files[name]) {
      await fs.rm(part, { force: true });
      throw new DownloadError(
        `${name}: md5 ${actual} does not match the official ${opts.files[name]}; the corrupt download was deleted, run \`make data\` again.`,
      );
    }
    await fs.rename(part, target);
    opts.log(`${name}: downloaded, md5 verified`);
    fetched.push(name);
  }
  return fetched;
}
