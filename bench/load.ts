/**
 * The /predict load of the serving benchmark, against any server:
 * `make load URL=http://host:port` posts one real 28x28 K49 PNG (the first
 * image of ../shared/data/real-sample) as multipart field `file` to
 * URL/predict over keep-alive connections (autocannon), at each concurrency,
 * and prints requests/s and latency percentiles. `make bench` runs the same
 * load against this service; pointing it at another server (e.g. the system
 * this one replaces, which takes the same request) compares the two in one
 * command on the same machine.
 */
import autocannon from 'autocannon';
import { realSamplePng } from './harness';

/** A multipart/form-data body of files in one field, built once so the load generator only sends bytes. */
export function multipartBody(field: string, files: { name: string; bytes: Buffer }[]): { body: Buffer; contentType: string } {
  const boundary = `----k49bench${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${f.name}"\r\nContent-Type: image/png\r\n\r\n`),
      f.bytes,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface LoadResult {
  connections: number;
  requests_per_second: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  errors: number;
  requests: number;
}

/** `connections` keep-alive connections posting `body` to `url` for `seconds`. */
export async function loadUrl(url: string, connections: number, seconds: number, request: { body: Buffer; contentType: string }): Promise<LoadResult> {
  const r = await autocannon({ url, connections, duration: seconds, method: 'POST', headers: { 'content-type': request.contentType }, body: request.body });
  return {
    connections,
    requests_per_second: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p90_ms: r.latency.p90,
    p99_ms: r.latency.p99,
    errors: r.errors + r.non2xx + r.timeouts,
    requests: r.requests.total,
  };
}

/** The /predict request of the benchmark: one real K49 PNG in field `file`. */
export async function predictRequest(): Promise<{ body: Buffer; contentType: string }> {
  return multipartBody('file', [{ name: 'sample.png', bytes: await realSamplePng(0) }]);
}

/** `make load`: the benchmark's /predict load against `baseUrl`, one line per concurrency. */
export async function runLoad(opts: { url: string; connections: number[]; duration: number }, log = console.log): Promise<LoadResult[]> {
  const target = `${opts.url.replace(/\/+$/, '')}/predict`;
  const request = await predictRequest();
  await loadUrl(target, 4, 2, request); // warm-up
  const results: LoadResult[] = [];
  for (const c of opts.connections) {
    const r = await loadUrl(target, c, opts.duration, request);
    log(
      `${target} concurrency ${c}: ${r.requests_per_second} req/s, p50 ${r.p50_ms} ms, p90 ${r.p90_ms} ms, p99 ${r.p99_ms} ms, errors ${r.errors} of ${r.requests}`,
    );
    results.push(r);
  }
  return results;
}
