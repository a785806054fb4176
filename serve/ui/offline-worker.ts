/**
 * The page's service worker (/ui/offline-worker.js, scope /): the page, its
 * scripts, the model's files and the last /health are answered from the
 * network when it is there and from the copy kept at the last answer when it
 * is not, so a page opened once opens again offline and recognises in itself
 * (in-browser.ts). Only those GETs: every other request (POST /predict, the
 * API) goes to the network as if there were no worker. Only the current
 * network's files are kept: a new model's files replace the old ones. What
 * the page loaded before the worker took over, the page sends it to keep
 * (a message with the addresses), so one visit is enough.
 */

/** What of the service worker's global scope this uses (the DOM's types are the page's; a worker's are another library). */
interface FetchEventLike extends Event {
  request: Request;
  respondWith(answer: Promise<Response>): void;
}
interface ExtendableEventLike extends Event {
  waitUntil(work: Promise<unknown>): void;
}
const worker = self as unknown as {
  addEventListener(type: 'fetch', listener: (e: FetchEventLike) => void): void;
  addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEventLike) => void): void;
  addEventListener(type: 'message', listener: (e: ExtendableEventLike & { data: unknown }) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: Location;
};

const CACHE = 'k49-offline-1';
/** The page and what it loads to run: nothing of the API but its health line. */
const KEPT = /^\/(|ui\/.*|model\/browser\.json|model\/[0-9a-f]+\/(manifest\.json|weights\.bin)|health)$/;
const MODEL_FILE = /^\/model\/([0-9a-f]+)\//;

/** A new model's files in: the other models' files out (they are never asked for again). */
async function keep(cache: Cache, request: Request, response: Response): Promise<void> {
  await cache.put(request, response);
  const id = MODEL_FILE.exec(new URL(request.url).pathname)?.[1];
  if (!id) return;
  for (const old of await cache.keys()) {
    const other = MODEL_FILE.exec(new URL(old.url).pathname)?.[1];
    if (other && other !== id) await cache.delete(old);
  }
}

/** Network first (the server stays the reference, and a new model or page is seen at once); the kept copy when it fails. */
async function answer(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await keep(cache, request, response.clone());
    return response;
  } catch (e) {
    // The page's answer varies with Accept (HTML for a browser): the copy kept is the HTML one.
    const copy = await cache.match(request, { ignoreVary: true });
    if (copy) return copy;
    throw e;
  }
}

const kept = (url: URL) => url.origin === worker.location.origin && KEPT.test(url.pathname);

worker.addEventListener('install', (e) => e.waitUntil(worker.skipWaiting()));
// The page's own address and what it loaded: each it may keep, fetched through the HTTP cache (immutable files come
// from it; the others are revalidated: a 304 when unchanged). The page is asked for as a browser asks for a page:
// the server answers / with the page only to a request that accepts HTML.
worker.addEventListener('message', (e) => {
  const { page, files } = e.data as { page: string; files: string[] };
  const requests = [new Request(page, { headers: { accept: 'text/html' } }), ...files.map((u) => new Request(u))];
  e.waitUntil(Promise.all(requests.filter((r) => kept(new URL(r.url))).map((r) => answer(r).catch(() => null))));
});
worker.addEventListener('activate', (e) => e.waitUntil(worker.clients.claim()));
worker.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || !kept(url)) return;
  e.respondWith(answer(e.request));
});
