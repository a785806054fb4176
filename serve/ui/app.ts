/**
 * The web page's behaviour (plain TypeScript, bundled by esbuild when the
 * server starts): draw on a canvas or upload/paste/drop an image, and see the
 * prediction, the top-5 candidates and the 28x28 image the model saw; or send
 * a batch and follow it to a results table with CSV/JSON download. Drawings
 * (and uploads, when asked) are recognised in the page itself once the served
 * network has loaded (in-browser.ts), the server answering otherwise.
 */
import { K49_CLASSES, topK } from '../../pipeline/core/classes';
import { IMAGE_SIZE } from '../../pipeline/core/preprocess/fit';
import { WORK_MAX_SIDE } from '../../pipeline/core/preprocess/pixels';
import { CHECKED_COLOUR, confidenceColour } from '../../pipeline/page/colours';
import { bookText, comparePageNames, NOT_HIRAGANA, pageText } from '../../pipeline/page/text';
// The API's answers, typed from its zod schemas (type-only: nothing of zod is bundled).
import type {
  BatchAccepted,
  ErrorResponse,
  EvaluationGroups,
  HealthResponse as Health,
  PageResponse,
  PredictResponse,
  TaskResponse as Task,
  TaskResult,
} from '../schemas';
import { BACKEND_NAMES, DATA_NAMES, format, type Lang, TEXT } from './i18n';
import type { Backend, InBrowserModel } from './in-browser';

const LOW_CONFIDENCE = 0.5;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// ---------------------------------------------------------------- language
let lang: Lang = (localStorage.getItem('k49-lang') as Lang) || (navigator.language.startsWith('ja') ? 'ja' : 'en');
const t = (key: string, values: Record<string, string | number> = {}) => format(TEXT[lang][key] ?? key, values);
/** What is on screen, kept so that a change of language re-renders it (not only the static labels). */
let health: Health | { failed: string } | null = null;
let shownPrediction: PredictResponse | null = null;
/** The batch lines, as message keys and values. */
let batchSelected: { n: number; skipped: string[] } | null = null;
let batchStatus: [string, Record<string, string | number>] | null = null;

function applyLanguage(): void {
  document.documentElement.lang = lang;
  document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n!);
  });
  $('lang-toggle').textContent = TEXT[lang].switchTo!;
  renderModelLine();
  renderInBrowserLine();
  if (shownPrediction) showPrediction(shownPrediction);
  renderSource();
  renderThanks();
  renderBatchLines();
  if (batchResults.length) renderBatchTable(batchResults);
  renderPageStatus();
  renderPage();
}
$('lang-toggle').addEventListener('click', () => {
  lang = lang === 'en' ? 'ja' : 'en';
  localStorage.setItem('k49-lang', lang);
  applyLanguage();
});

/** A data set as people read it: its description in the current language (each source of a mix such as 'synth+kmnist-real') and its size. */
const dataLabel = (name: string, images: number) =>
  t('imagesOf', {
    data: name
      .split('+')
      .map((part) => DATA_NAMES[lang][part] ?? part)
      .join(' + '),
    n: images.toLocaleString(lang),
  });

/** Mean recall of the classes with real training images and of the others, when the model records its sources and both are present. */
function groupsText(groups: EvaluationGroups | null): string {
  const real = groups?.real_training_images.mean_recall,
    others = groups?.no_real_training_images.mean_recall;
  if (real == null || others == null) return '';
  return t('modelGroups', {
    real: `${(100 * real).toFixed(0)} %`,
    nreal: groups!.real_training_images.classes.length,
    others: `${(100 * others).toFixed(0)} %`,
    nothers: groups!.no_real_training_images.classes.length,
  });
}

/** A model as people name it: the day it was made (from the version's trailing date), its version id as a tooltip. */
function modelName(version: string): string {
  const d = /(\d{4})(\d{2})(\d{2})$/.exec(version);
  const date = d ? new Date(Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]))) : null;
  return date
    ? t('modelName', { date: date.toLocaleDateString(lang === 'ja' ? 'ja-JP' : 'en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }) })
    : version;
}

function renderModelLine(): void {
  const link = $<HTMLAnchorElement>('model-card-link');
  const info = $('model-info');
  const trained = $('model-trained');
  if (!health) return;
  if ('failed' in health || !health.model) {
    info.textContent = t('modelUnavailable', { reason: 'failed' in health ? health.failed : (health.reason ?? health.status) });
    trained.textContent = '';
    link.hidden = true;
    return;
  }
  const m = health.model;
  const e = m.evaluation;
  info.title = m.version;
  info.textContent = `${modelName(m.version)} · ${
    e ? t('modelRight', { evaluated: dataLabel(e.data, e.images), pct: (100 * e.accuracy).toFixed(0) }) + groupsText(e.groups) : t('modelNotEvaluated')
  }`;
  trained.textContent = t('modelTrained', { trained: dataLabel(m.training_data.name, m.training_data.images) });
  link.href = m.model_card;
  link.hidden = false;
}

async function refreshHealth(): Promise<void> {
  try {
    const res = await fetch('/health');
    health = (await res.json()) as Health;
  } catch (e) {
    health = { failed: (e as Error).message };
  }
  renderModelLine();
}

// ---------------------------------------------------------------- tabs (keyboard: arrows)
const tabs = Array.from(document.querySelectorAll<HTMLButtonElement>('[role="tab"]'));
function selectTab(tab: HTMLButtonElement): void {
  for (const other of tabs) {
    const on = other === tab;
    other.setAttribute('aria-selected', String(on));
    other.tabIndex = on ? 0 : -1;
    $(other.getAttribute('aria-controls')!).hidden = !on;
  }
  // A batch or a page answers in its own view: it takes the whole width, and the single-answer card steps aside.
  const batch = tab.id === 'tab-batch' || tab.id === 'tab-page';
  document.querySelector('.layout')!.classList.toggle('wide', batch);
  $('result').hidden = batch;
}
tabs.forEach((tab, i) => {
  tab.addEventListener('click', () => selectTab(tab));
  tab.addEventListener('keydown', (e) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step) {
      const next = tabs[(i + step + tabs.length) % tabs.length]!;
      selectTab(next);
      next.focus();
    }
  });
});

// ---------------------------------------------------------------- results
function showError(message: string | null): void {
  const el = $('error');
  el.hidden = !message;
  el.textContent = message ?? '';
}

/** A new action or a failure takes the previous answer off the screen. */
function clearResult(): void {
  shownPrediction = null;
  shownSource = null;
  delete $('result-body').dataset.answer;
  thanksFor = null;
  renderThanks();
  $('result-body').hidden = true;
  $('result-empty').hidden = false;
}

function showPrediction(p: PredictResponse): void {
  shownPrediction = p;
  showError(null);
  $('result-empty').hidden = true;
  $('result-body').hidden = false;
  $('answer-char').textContent = p.prediction;
  $('answer-confidence').textContent = t('confidence', { p: `${(p.confidence * 100).toFixed(1)}%` });
  if (p.model_input_png) $<HTMLImageElement>('model-input').src = p.model_input_png;
  $('low-confidence').hidden = p.confidence >= LOW_CONFIDENCE;
  const list = $('candidates');
  list.replaceChildren(
    ...p.top_k.map((c) => {
      const li = document.createElement('li');
      li.innerHTML = `<span class="char" lang="ja"></span><span class="bar" role="meter" aria-valuemin="0" aria-valuemax="100"><span></span></span><span class="pct"></span>`;
      li.querySelector('.char')!.textContent = c.prediction;
      const bar = li.querySelector<HTMLElement>('.bar')!;
      bar.setAttribute('aria-valuenow', (c.confidence * 100).toFixed(0));
      bar.setAttribute('aria-label', c.prediction);
      li.querySelector<HTMLElement>('.bar > span')!.style.width = `${Math.max(1, c.confidence * 100)}%`;
      li.querySelector('.pct')!.textContent = `${(c.confidence * 100).toFixed(1)}%`;
      return li;
    }),
  );
}

/** Who answered what is on screen, for the note under it (and the page's tests, in data-answer). */
type Source = { where: 'server' } | { where: 'page'; backend: Backend } | { where: 'server-fallback'; why: string };
let shownSource: { source: Source; ms: number } | null = null;
function renderSource(): void {
  const el = $('answer-source');
  if (!shownSource) {
    el.textContent = '';
    return;
  }
  const { source, ms } = shownSource;
  const time = ms.toFixed(0);
  el.textContent =
    source.where === 'page'
      ? t('answeredHere', { backend: BACKEND_NAMES[source.backend], ms: time })
      : source.where === 'server'
        ? t('answeredServer', { ms: time })
        : t('answeredServerInstead', { why: source.why, ms: time });
}
/** Shows an answer and records it on the result (data-answer: its source, class, time, and the page's probabilities). */
function showAnswer(p: PredictResponse, source: Source, ms: number, probabilities?: Float32Array): void {
  showPrediction(p);
  shownSource = { source, ms };
  renderSource();
  $('result-body').dataset.answer = JSON.stringify({
    source: source.where,
    backend: source.where === 'page' ? source.backend : null,
    class_id: p.class_id,
    ms,
    probabilities: probabilities ? Array.from(probabilities) : null,
  });
}

/** The image behind the answer on screen, so that "Wrong?" can send it with the correction. */
let answeredInput: { image: Blob; name: string } | null = null;
let latestRequest = 0;
/** Asks the server (POST /predict); `since` is when the user acted (the answer's time counts from it). */
async function recognise(image: Blob, name: string, since = performance.now(), source: Source = { where: 'server' }): Promise<void> {
  const id = ++latestRequest;
  const form = new FormData();
  form.append('file', image, name);
  try {
    const res = await fetch('/predict?top_k=5&include_image=true', { method: 'POST', body: form });
    const body = await res.json();
    if (id !== latestRequest) return; // a newer stroke already asked
    if (!res.ok) {
      clearResult();
      showError((body as ErrorResponse).detail);
    } else {
      answeredInput = { image, name };
      thanksFor = null;
      renderThanks();
      showAnswer(body as PredictResponse, source, performance.now() - since);
    }
  } catch (e) {
    if (id === latestRequest) {
      clearResult();
      showError((e as Error).message);
    }
  }
}

// ---------------------------------------------------------------- in-browser recognition (in-browser.ts, its own bundle)
type InBrowserModule = typeof import('./in-browser');
let inBrowser: InBrowserModel | null = null;
/** Loading, ready, or why this browser cannot run the model (the server then answers, and the page says so). */
let inBrowserState: { kind: 'loading' } | { kind: 'ready' } | { kind: 'failed'; reason: string } = { kind: 'loading' };
function renderInBrowserLine(): void {
  const el = $('in-browser');
  el.textContent =
    inBrowserState.kind === 'loading'
      ? t('inBrowserLoading')
      : inBrowserState.kind === 'ready' && inBrowser
        ? t('inBrowserReady', { backend: BACKEND_NAMES[inBrowser.backend] }) + (reopensOffline ? '' : ` ${t('noReopenOffline')}`)
        : t('inBrowserFailed', { reason: inBrowserState.kind === 'failed' ? inBrowserState.reason : '' });
  el.dataset.state = inBrowserState.kind;
  if (inBrowser) {
    el.dataset.modelId = inBrowser.id;
    el.dataset.backend = inBrowser.backend;
  }
}
/** Why the page is not answering itself (still loading, or the reason it cannot), for the server's answer to say. */
function whyNotHere(): string {
  return inBrowserState.kind === 'failed' ? inBrowserState.reason : t('inBrowserLoading');
}
let inBrowserModule: Promise<InBrowserModule> | null = null;
function inBrowserCode(): Promise<InBrowserModule> {
  inBrowserModule ??= new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = '/ui/in-browser.js';
    script.onload = () => resolve((window as unknown as { K49InBrowser: InBrowserModule }).K49InBrowser);
    script.onerror = () => reject(new Error('the in-browser recognizer could not be loaded'));
    document.head.append(script);
  });
  return inBrowserModule;
}
/** ?backend=webgl or ?backend=wasm in the page's address forces one (to compare them); by default the page picks. */
const preferredBackend = new URLSearchParams(location.search).get('backend') as Backend | null;
async function loadInBrowser(): Promise<void> {
  try {
    const model = await (await inBrowserCode()).loadInBrowserModel(preferredBackend ?? undefined);
    inBrowser?.dispose();
    inBrowser = model;
    inBrowserState = { kind: 'ready' };
    if ('serviceWorker' in navigator) void keepForOffline();
  } catch (e) {
    if (!inBrowser) inBrowserState = { kind: 'failed', reason: (e as Error).message };
  }
  renderInBrowserLine();
}
/** A hot reload on the server gives the network a new id: the page asks every minute while online, and when it comes back online, and loads the new one. */
const MODEL_CHECK_MS = 60_000;
async function checkModel(): Promise<void> {
  if (!inBrowser || !navigator.onLine) return;
  const current = await (await inBrowserCode()).currentModel().catch(() => null); // unreachable: keep the network the page has
  if (current && current.id !== inBrowser.id) await loadInBrowser();
}
window.setInterval(() => void checkModel(), MODEL_CHECK_MS);
window.addEventListener('online', () => void checkModel());

/** The 28x28 image the network saw, as the data URL the server's answer carries. */
function imageDataUrl(image: Uint8Array): string {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = IMAGE_SIZE;
  const data = new ImageData(IMAGE_SIZE, IMAGE_SIZE);
  image.forEach((v, i) => {
    data.data.set([v, v, v, 255], 4 * i);
  });
  canvas.getContext('2d')!.putImageData(data, 0, 0);
  return canvas.toDataURL('image/png');
}
/** Recognises RGBA pixels in this page; `since` is when the user acted. */
function recogniseHere(model: InBrowserModel, pixels: ImageData, since: number, input: () => Promise<Blob | null>, name: string): void {
  ++latestRequest; // a server answer still on its way is older than this one
  try {
    const { image, probabilities } = model.recognise(pixels.data, pixels.width, pixels.height);
    const top = topK(probabilities, 5);
    const answer: PredictResponse = {
      prediction: top[0]!.prediction,
      class_id: top[0]!.class_id,
      confidence: top[0]!.confidence,
      top_k: top,
      model_version: model.version,
      time_ms: 0,
      prediction_id: top[0]!.class_id,
      character: top[0]!.prediction,
      model_input_png: imageDataUrl(image),
    };
    thanksFor = null;
    renderThanks();
    showAnswer(answer, { where: 'page', backend: model.backend }, performance.now() - since, probabilities);
    answeredInput = null;
    const seq = actionSeq;
    // Kept for "Wrong?": the same image the server would have been sent.
    void input().then((blob) => {
      if (blob && seq === actionSeq) answeredInput = { image: blob, name };
    });
  } catch (e) {
    clearResult();
    showError((e as Error).message);
  }
}

// ---------------------------------------------------------------- corrections: a 49-character picker, POST /feedback
interface CorrectionTarget {
  image: Blob;
  name: string;
  /** When correcting a batch result. */
  taskId?: string;
  /** When labelling a character of a page: the page's SHA-256 (as POST /pages gave it) and the character's box, for the export's check by place. */
  page?: { sha256: string; box: [number, number, number, number] };
  done: (char: string) => void;
  /** Where the reason goes when it was not stored: the view the user is looking at. */
  failed: (message: string) => void;
}
let correcting: CorrectionTarget | null = null;
let thanksFor: string | null = null;
function renderThanks(): void {
  const el = $('thanks');
  el.hidden = thanksFor === null;
  el.textContent = thanksFor === null ? '' : t('thanks', { char: thanksFor });
}
const dialog = $<HTMLDialogElement>('picker-dialog');
$('picker').replaceChildren(
  ...K49_CLASSES.map((c) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.lang = 'ja';
    b.textContent = c.char;
    b.title = c.romaji;
    b.dataset.classId = String(c.index);
    b.addEventListener('click', () => void sendCorrection(c.index, c.char));
    return b;
  }),
);
function openPicker(target: CorrectionTarget): void {
  correcting = target;
  $('picker-for').textContent = t('pickFor', { what: target.name });
  dialog.showModal();
  document.documentElement.classList.add('modal-open');
}
$('picker-cancel').addEventListener('click', () => dialog.close());
// However the picker closes (a pick, Cancel, Esc), the page behind it scrolls again.
dialog.addEventListener('close', () => document.documentElement.classList.remove('modal-open'));
async function sendCorrection(classId: number, char: string): Promise<void> {
  const target = correcting;
  if (!target) return;
  dialog.close();
  await postFeedback(target, classId, char);
}
/** Stores that `target`'s image is `classId` (POST /feedback): a correction, or a confirmation when the model read it so. */
async function postFeedback(target: CorrectionTarget, classId: number, char: string): Promise<void> {
  const form = new FormData();
  form.append('file', target.image, target.name);
  form.append('class_id', String(classId));
  if (target.taskId) {
    form.append('task_id', target.taskId);
    form.append('filename', target.name);
  }
  if (target.page) {
    form.append('page_sha256', target.page.sha256);
    form.append('page_box', target.page.box.join(','));
  }
  try {
    const res = await fetch('/feedback', { method: 'POST', body: form });
    if (!res.ok) throw new Error(((await res.json()) as ErrorResponse).detail);
    target.done(char);
  } catch (e) {
    target.failed(t('feedbackFailed', { reason: (e as Error).message }));
  }
}
/** A view's own line for a correction that was not stored (the answer card, where showError writes, is hidden on the Batch and Page tabs). */
function showFeedbackError(id: string, message: string | null): void {
  const el = $(id);
  el.hidden = !message;
  el.textContent = message ?? '';
}
$('wrong').addEventListener('click', () => {
  if (!answeredInput) return;
  openPicker({
    ...answeredInput,
    done: (char) => {
      thanksFor = char;
      renderThanks();
    },
    failed: showError,
  });
});

// ---------------------------------------------------------------- drawing (pointer events: mouse, touch, pen)
type Stroke = { width: number; points: [number, number][] };
const pad = $<HTMLCanvasElement>('pad');
// Read back after every stroke (in-browser recognition): kept in memory rather than on the GPU.
const ctx = pad.getContext('2d', { willReadFrequently: true })!;
const strokes: Stroke[] = [];
let current: Stroke | null = null;
let debounce: number | undefined;
/** Bumped by every user action (stroke, upload): a drawing snapshot taken for an older action is dropped. */
let actionSeq = 0;

function redraw(): void {
  ctx.clearRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = '#111';
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const s of strokes) {
    ctx.lineWidth = s.width;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => {
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    if (s.points.length === 1) ctx.lineTo(s.points[0]![0] + 0.1, s.points[0]![1]);
    ctx.stroke();
  }
}
function toCanvas(e: PointerEvent): [number, number] {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) / r.width) * pad.width, ((e.clientY - r.top) / r.height) * pad.height];
}
/** After a stroke (or an undo): answered at once in this page when it runs the model, else by the server after a pause in writing. */
function scheduleRecognition(since = performance.now()): void {
  window.clearTimeout(debounce);
  if (strokes.length === 0) return;
  const mine = ++actionSeq;
  if (inBrowser) {
    const snapshot = () => new Promise<Blob | null>((r) => pad.toBlob(r, 'image/png'));
    recogniseHere(inBrowser, ctx.getImageData(0, 0, pad.width, pad.height), since, snapshot, 'drawing.png');
    return;
  }
  const why = whyNotHere();
  debounce = window.setTimeout(
    () => pad.toBlob((b) => b && mine === actionSeq && recognise(b, 'drawing.png', since, { where: 'server-fallback', why }), 'image/png'),
    250,
  );
}
pad.addEventListener('pointerdown', (e) => {
  pad.setPointerCapture(e.pointerId);
  current = { width: Number($<HTMLInputElement>('stroke-width').value), points: [toCanvas(e)] };
  strokes.push(current);
  redraw();
});
pad.addEventListener('pointermove', (e) => {
  if (!current) return;
  for (const ev of e.getCoalescedEvents?.() ?? [e]) current.points.push(toCanvas(ev));
  redraw();
});
const endStroke = (e: PointerEvent) => {
  if (!current) return;
  current = null;
  scheduleRecognition(e.timeStamp);
};
pad.addEventListener('pointerup', endStroke);
pad.addEventListener('pointercancel', endStroke);
$('undo').addEventListener('click', () => {
  strokes.pop();
  redraw();
  scheduleRecognition();
});
$('clear').addEventListener('click', () => {
  strokes.length = 0;
  redraw();
  clearResult();
  showError(null);
});
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'z' && !$('panel-draw').hidden) {
    e.preventDefault();
    $('undo').click();
  }
});

// ---------------------------------------------------------------- upload: picker, drag and drop, paste
/** An uploaded image as RGBA pixels, decoded by the browser as it is (no colour management: the server does none). */
async function filePixels(file: File): Promise<ImageData> {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const c = canvas.getContext('2d', { willReadFrequently: true })!;
  c.drawImage(bitmap, 0, 0);
  bitmap.close();
  return c.getImageData(0, 0, canvas.width, canvas.height);
}
/** Uploads are answered by the server unless the user picked "in this page" (and the page runs the model). */
async function recogniseFile(file: File, since: number): Promise<void> {
  const here = $<HTMLInputElement>('upload-here').checked;
  if (!here) return recognise(file, file.name, since);
  if (!inBrowser) {
    return recognise(file, file.name, since, { where: 'server-fallback', why: whyNotHere() });
  }
  const model = inBrowser;
  const seq = actionSeq;
  let pixels: ImageData;
  try {
    pixels = await filePixels(file);
  } catch {
    return recognise(file, file.name, since, { where: 'server-fallback', why: t('cannotDecodeHere', { type: file.type || file.name }) });
  }
  // The server's decoder shrinks larger images first (sharp's filter, which the page does not have): the server answers them, to stay its equal.
  if (pixels.width > WORK_MAX_SIDE || pixels.height > WORK_MAX_SIDE) {
    return recognise(file, file.name, since, { where: 'server-fallback', why: t('tooLargeHere', { max: WORK_MAX_SIDE }) });
  }
  if (seq === actionSeq) recogniseHere(model, pixels, since, async () => file, file.name);
}
function useFile(file: File): void {
  const since = performance.now();
  window.clearTimeout(debounce);
  actionSeq++;
  clearResult();
  showError(null);
  const preview = $<HTMLImageElement>('upload-preview');
  preview.hidden = true;
  if (file.type.startsWith('image/')) {
    // Shown once the browser has drawn it: a file it cannot show (TIFF, a damaged one) leaves no broken-image icon.
    preview.onload = () => {
      preview.hidden = false;
    };
    preview.alt = file.name;
    preview.src = URL.createObjectURL(file);
  }
  void recogniseFile(file, since);
}
$<HTMLInputElement>('file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) useFile(f);
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer?.files[0];
  if (f) useFile(f);
});
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') {
    e.preventDefault();
    $('file').click();
  }
});
document.addEventListener('paste', (e) => {
  const f = Array.from(e.clipboardData?.files ?? []).find((x) => x.type.startsWith('image/'));
  if (f) {
    selectTab($('tab-upload') as HTMLButtonElement);
    useFile(f);
  }
});

// ---------------------------------------------------------------- batch
let batchFiles: File[] = [];
let batchResults: TaskResult[] = [];
let batchTaskId: string | null = null;
/** Rows corrected by the user, by index: the character they gave. */
const batchCorrections = new Map<number, string>();
const isImage = (f: File) => f.type.startsWith('image/') || /\.(png|jpe?g|webp|gif|tiff?|bmp)$/i.test(f.name);
function chooseBatch(list: FileList | null): void {
  const all = Array.from(list ?? []);
  batchFiles = all.filter(isImage);
  batchSelected = { n: batchFiles.length, skipped: all.filter((f) => !isImage(f)).map((f) => f.webkitRelativePath || f.name) };
  batchStatus = null;
  renderBatchLines();
  // A new selection: the previous results (and their thumbnails) no longer apply.
  batchResults = [];
  batchTaskId = null;
  $<HTMLTableElement>('batch-table').hidden = true;
  $('batch-downloads').hidden = true;
  $<HTMLButtonElement>('batch-send').disabled = batchFiles.length === 0;
}
function renderBatchLines(): void {
  if (batchSelected) {
    $('batch-selected').textContent = t('selected', { n: batchSelected.n });
    const skipped = $('batch-skipped');
    skipped.hidden = batchSelected.skipped.length === 0;
    skipped.textContent = t('skipped', { n: batchSelected.skipped.length, names: batchSelected.skipped.join(', ') });
  }
  $('batch-status').textContent = batchStatus ? t(...batchStatus) : '';
}
function setBatchStatus(key: string, values: Record<string, string | number>): void {
  batchStatus = [key, values];
  renderBatchLines();
}
$<HTMLInputElement>('batch-files').addEventListener('change', (e) => chooseBatch((e.target as HTMLInputElement).files));
$<HTMLInputElement>('batch-folder').addEventListener('change', (e) => chooseBatch((e.target as HTMLInputElement).files));

/** A batch row's picture: the file as the browser shows it, or a plain mark where it cannot (not an image, damaged). */
function thumbnail(file: File | undefined, name: string): HTMLElement {
  const mark = document.createElement('span');
  mark.className = 'no-thumb';
  mark.textContent = '×';
  mark.title = t('notReadable');
  mark.setAttribute('aria-label', `${name}: ${t('notReadable')}`);
  if (!file?.type.startsWith('image/')) return mark;
  const img = document.createElement('img');
  img.alt = name;
  img.onerror = () => img.replaceWith(mark);
  img.src = URL.createObjectURL(file);
  return img;
}

function renderBatchTable(results: TaskResult[]): void {
  const table = $<HTMLTableElement>('batch-table');
  const rows = results.map((r, i) => {
    const tr = document.createElement('tr');
    const cells = Array.from({ length: 5 }, () => document.createElement('td'));
    cells[0]!.append(thumbnail(batchFiles[i], r.filename));
    cells[1]!.textContent = r.filename;
    if ('error' in r) {
      cells[2]!.textContent = '—';
      // The reason in the page's language when the service names its kind; the service's own words as a tooltip.
      cells[3]!.textContent = r.error_code ? t(`fileError_${r.error_code}`) : r.error;
      cells[3]!.title = r.error;
      cells[3]!.className = 'err';
    } else {
      cells[2]!.textContent = r.prediction;
      cells[2]!.className = 'pred';
      cells[2]!.lang = 'ja';
      cells[3]!.textContent = `${(r.confidence * 100).toFixed(1)}%`;
      const fixed = batchCorrections.get(i);
      if (fixed) cells[4]!.textContent = t('corrected', { char: fixed });
      else if (batchFiles[i] && batchTaskId) {
        const fix = document.createElement('button');
        fix.type = 'button';
        fix.className = 'fix';
        fix.textContent = '✎';
        fix.setAttribute('aria-label', t('correctRow', { file: r.filename }));
        const taskId = batchTaskId;
        fix.addEventListener('click', () =>
          openPicker({
            image: batchFiles[i]!,
            name: r.filename,
            taskId,
            done: (char) => {
              showFeedbackError('batch-feedback-error', null);
              batchCorrections.set(i, char);
              renderBatchTable(batchResults);
            },
            failed: (message) => showFeedbackError('batch-feedback-error', message),
          }),
        );
        cells[4]!.append(fix);
      }
    }
    tr.append(...cells);
    return tr;
  });
  table.tBodies[0]!.replaceChildren(...rows);
  table.hidden = false;
  $('batch-downloads').hidden = false;
}

function download(name: string, type: string, text: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
}
const csvCell = (v: string | number) => `"${String(v).replace(/"/g, '""')}"`;
$('download-csv').addEventListener('click', () => {
  const lines = ['filename,prediction,class_id,confidence,error'];
  for (const r of batchResults) {
    lines.push(
      'error' in r
        ? [csvCell(r.filename), '', '', '', csvCell(r.error)].join(',')
        : [csvCell(r.filename), csvCell(r.prediction), r.class_id, r.confidence, ''].join(','),
    );
  }
  download('k49-results.csv', 'text/csv', `\ufeff${lines.join('\n')}\n`);
});
$('download-json').addEventListener('click', () => download('k49-results.json', 'application/json', JSON.stringify(batchResults, null, 2)));

$('batch-send').addEventListener('click', async () => {
  const bar = $<HTMLProgressElement>('batch-progress');
  $<HTMLButtonElement>('batch-send').disabled = true;
  showError(null);
  try {
    setBatchStatus('uploading', { n: batchFiles.length });
    const form = new FormData();
    for (const f of batchFiles) form.append('files', f, f.webkitRelativePath || f.name);
    const res = await fetch('/batch_predict', { method: 'POST', body: form });
    const accepted = (await res.json()) as Partial<BatchAccepted & ErrorResponse>;
    if (!res.ok || !accepted.task_id) throw new Error(accepted.detail ?? res.statusText);
    bar.hidden = false;
    for (;;) {
      const task = (await (await fetch(`/tasks/${accepted.task_id}`)).json()) as Task;
      bar.max = Math.max(1, task.progress.total);
      bar.value = task.progress.done;
      setBatchStatus('progress', { done: task.progress.done, total: task.progress.total });
      if (task.status === 'completed') {
        batchTaskId = task.task_id;
        batchCorrections.clear();
        batchResults = task.results;
        renderBatchTable(task.results);
        setBatchStatus('completed', { n: task.results.length });
        break;
      }
      if (task.status === 'failed') throw new Error(task.error ?? 'failed');
      await new Promise((r) => setTimeout(r, 400));
    }
  } catch (e) {
    setBatchStatus('failed', { reason: (e as Error).message });
  } finally {
    $<HTMLButtonElement>('batch-send').disabled = batchFiles.length === 0;
  }
});

// A page opened once opens again offline (offline-worker.ts). Browsers run service workers on HTTPS and localhost only;
// elsewhere the page still answers offline while it stays open, and its line says that reopening it needs the network.
let reopensOffline = false;
/** Once the worker controls the page and the model has loaded: what the page loaded before, for the worker to keep. */
async function keepForOffline(): Promise<void> {
  const sw = navigator.serviceWorker;
  await sw.ready;
  if (!sw.controller) await new Promise((r) => sw.addEventListener('controllerchange', r, { once: true }));
  sw.controller?.postMessage({ page: location.href, files: performance.getEntriesByType('resource').map((e) => e.name) });
}
if ('serviceWorker' in navigator) {
  navigator.serviceWorker
    .register('/ui/offline-worker.js', { scope: '/' })
    .then(() => {
      reopensOffline = true;
    })
    .catch(() => {})
    .finally(renderInBrowserLine);
}

// ---------------------------------------------------------------- page: whole pages read (POST /pages), their boxes over them
/** A page scan the user chose: the server's answer (or why it could not be read), and what the user said its characters are. */
interface ChosenPage {
  file: File;
  answer: PageResponse | null;
  error: string | null;
  /** Index -> the character the user gave: a correction, or the model's own reading confirmed. */
  checked: Map<number, string>;
  /** The scan as the <img> shows it, made when first shown. */
  url: string | null;
}
/** The pages chosen together (several: a book, read one after another in name order), and the one shown. */
let pages: ChosenPage[] = [];
let shown = 0;
let pageSelected: number | null = null;
const SVG = 'http://www.w3.org/2000/svg';

function currentPage(): ChosenPage | undefined {
  return pages[shown];
}
function fileStem(f: File): string {
  return f.name.replace(/\.[^.]*$/, '');
}

/** The Page tab's status line for the page shown and, when several were chosen, their navigation. */
function renderPageStatus(): void {
  const p = currentPage();
  let status = '';
  if (p?.answer) {
    const a = p.answer;
    const h = a.characters.filter((c) => c.kind === 'hiragana').length;
    status = t('pageDone', { n: a.characters.length, c: a.columns.length, h, ms: Math.round(a.time_ms) });
    if (a.skew) status += ` ${t('pageTurned', { deg: Math.abs(a.skew) })}`;
  } else if (p && !p.error) status = t('pageReading', { name: p.file.name });
  $('page-status').textContent = status;
  const several = pages.length > 1;
  $('page-nav').hidden = !several;
  $('page-download-all').hidden = !several;
  if (!several) return;
  $('page-of').textContent = t('pageOf', { i: shown + 1, n: pages.length, name: pages[shown]!.file.name });
  $<HTMLButtonElement>('page-prev').disabled = shown === 0;
  $<HTMLButtonElement>('page-next').disabled = shown === pages.length - 1;
  // The whole text once every page has its answer (or its reason).
  $<HTMLButtonElement>('page-download-all').disabled = pages.some((q) => !q.answer && !q.error);
}

/** Shows page `k` of those chosen: its status, its reason if it could not be read, else its boxes and text. */
function showPage(k: number): void {
  shown = k;
  pageSelected = null;
  $('page-thanks').hidden = true;
  $('page-copied').hidden = true;
  showFeedbackError('page-feedback-error', null);
  const p = currentPage();
  $('page-error').textContent = p?.error ?? '';
  $('page-error').hidden = !p?.error;
  $('page-view').hidden = !p?.answer;
  renderPageStatus();
  renderPage();
}

async function readPageFiles(files: File[]): Promise<void> {
  for (const p of pages) if (p.url) URL.revokeObjectURL(p.url);
  const chosen: ChosenPage[] = [...files]
    .sort((a, b) => comparePageNames(a.name, b.name))
    .map((file) => ({ file, answer: null, error: null, checked: new Map(), url: null }));
  pages = chosen;
  showPage(0);
  // One page at a time: the service reads a page on one thread, and the first page shows as soon as it is read.
  for (const p of chosen) {
    const form = new FormData();
    form.append('file', p.file, p.file.name);
    try {
      const res = await fetch('/pages?include_images=true', { method: 'POST', body: form });
      const body = await res.json();
      if (res.ok) p.answer = body as PageResponse;
      else p.error = (body as ErrorResponse).detail;
    } catch (e) {
      p.error = (e as Error).message;
    }
    if (pages !== chosen) return; // other pages were chosen meanwhile
    if (p === currentPage()) showPage(shown);
    else renderPageStatus();
  }
}

/** A page's characters as the user now reads them: the model's answers, with what the user said in their place. */
function pageCharacters(p: ChosenPage & { answer: PageResponse }) {
  return p.answer.characters.map((ch, k) => {
    const said = p.checked.get(k);
    if (said === undefined) return { ...ch, checked: false, corrected: false };
    return { ...ch, character: said, kind: 'hiragana' as const, checked: true, corrected: said !== ch.character || ch.kind !== 'hiragana' };
  });
}

/** A page's text with the user's corrections. */
function correctedPageText(p: ChosenPage & { answer: PageResponse }): string {
  return pageText(p.answer.columns.length, pageCharacters(p));
}

function isRead(p: ChosenPage | undefined): p is ChosenPage & { answer: PageResponse } {
  return !!p?.answer;
}

function renderPage(): void {
  const p = currentPage();
  if (!isRead(p)) return;
  const answer = p.answer;
  const characters = pageCharacters(p);
  $('page-view').hidden = false;
  const img = $<HTMLImageElement>('page-image');
  p.url ??= URL.createObjectURL(p.file);
  if (img.src !== p.url) img.src = p.url;
  img.alt = p.file.name;
  const svg = $('page-boxes') as unknown as SVGSVGElement;
  svg.setAttribute('viewBox', `0 0 ${answer.width} ${answer.height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const stroke = Math.max(2, Math.round(Math.max(answer.width, answer.height) / 400));
  // The boxes are drawn anew: a box that had the keyboard's focus hands it on to the selected one.
  const hadFocus = svg.contains(document.activeElement);
  svg.replaceChildren(
    ...characters.map((ch, k) => {
      const r = document.createElementNS(SVG, 'rect');
      const [x, y, w, h] = ch.box;
      r.setAttribute('x', String(x));
      r.setAttribute('y', String(y));
      r.setAttribute('width', String(w));
      r.setAttribute('height', String(h));
      r.setAttribute('stroke', ch.checked ? CHECKED_COLOUR : confidenceColour(ch));
      r.setAttribute('stroke-width', String(k === pageSelected ? 3 * stroke : stroke));
      r.setAttribute('class', 'page-box');
      r.setAttribute('tabindex', '0');
      r.setAttribute('role', 'button');
      r.setAttribute('data-index', String(k));
      r.setAttribute(
        'aria-label',
        t('pageBox', {
          c: ch.column + 1,
          i: ch.index + 1,
          char: ch.kind === 'hiragana' ? ch.character : NOT_HIRAGANA,
          p: `${(ch.confidence * 100).toFixed(0)}%`,
        }),
      );
      r.addEventListener('click', () => selectPageCharacter(k));
      return r;
    }),
  );
  if (hadFocus && pageSelected !== null) svg.querySelector<SVGRectElement>(`[data-index="${pageSelected}"]`)?.focus();
  $('page-text').textContent = correctedPageText(p);
  $('page-copied').hidden = true; // said of the text as it was
  $('page-progress').textContent = t('pageChecked', { n: p.checked.size, total: characters.length });
  renderPageDetail();
}

function selectPageCharacter(k: number, focus = false): void {
  pageSelected = k;
  $('page-thanks').hidden = true;
  showFeedbackError('page-feedback-error', null); // said of the character that was chosen
  renderPage();
  if (focus) $('page-boxes').querySelector<SVGRectElement>(`[data-index="${k}"]`)?.focus();
}

function renderPageDetail(): void {
  const p = currentPage();
  const ch = pageSelected === null || !isRead(p) ? null : pageCharacters(p)[pageSelected];
  $('page-detail').hidden = !ch;
  if (!ch) return;
  $('page-char').textContent = ch.character;
  const note = $('page-corrected');
  note.hidden = !ch.checked;
  note.textContent = !ch.checked
    ? ''
    : ch.corrected
      ? t('pageCorrected', { char: ch.character, model: ch.top_k[0]!.prediction })
      : t('pageConfirmed', { char: ch.character });
  if (ch.model_input_png) $<HTMLImageElement>('page-seen').src = ch.model_input_png;
  // Each candidate is a button (and its number a key): pressing it says the character is that one.
  $('page-candidates').replaceChildren(
    ...ch.top_k.map((c, i) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'ghost';
      b.dataset.classId = String(c.class_id);
      b.setAttribute('aria-label', t('pageItIs', { char: c.prediction, p: `${(c.confidence * 100).toFixed(1)}%` }));
      const key = document.createElement('kbd');
      key.textContent = String(i + 1);
      const label = document.createElement('span');
      label.lang = 'ja';
      label.textContent = c.prediction;
      const pct = document.createElement('span');
      pct.textContent = `${(c.confidence * 100).toFixed(1)}%`;
      b.append(key, label, pct);
      b.addEventListener('click', () => void labelPageCharacter(c.class_id, c.prediction));
      li.append(b);
      return li;
    }),
  );
  // "Right" confirms a hiragana reading not yet checked; a character not read as hiragana is named by a pick.
  const right = $<HTMLButtonElement>('page-right');
  right.hidden = ch.checked || ch.kind !== 'hiragana';
  right.textContent = t('pageRight', { char: ch.character });
  $('page-other').hidden = ch.checked || ch.kind === 'hiragana';
}

/**
 * What a page's correction sends: the character's 28x28 model input as the page reader made it (the service
 * stores it unchanged), so the labelled image is the one the model read. A crop of the scan around the box
 * would go through the single-image preprocessing instead, which frames a character cut from a page
 * differently (on three real pages 111 of 780 such images correlated under 0.9 with the model's input).
 */
function pageModelInput(ch: PageResponse['characters'][number]): Blob {
  if (!ch.model_input_png) throw new Error('the page was read without its characters’ images (include_images=true)');
  const bytes = Uint8Array.from(atob(ch.model_input_png.slice(ch.model_input_png.indexOf(',') + 1)), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type: 'image/png' });
}

/**
 * What the selected character's label goes with: its model input, and on success its place in the page's
 * text, a thank-you, and the next character selected (checking a page goes on in reading order).
 */
function selectedPageTarget(): CorrectionTarget | null {
  const k = pageSelected;
  const p = currentPage();
  if (k === null || !isRead(p)) return null;
  const ch = p.answer.characters[k];
  if (!ch) return null;
  const count = p.answer.characters.length;
  return {
    image: pageModelInput(ch),
    name: `${p.file.name} #${ch.column + 1}-${ch.index + 1}`,
    page: { sha256: p.answer.page_sha256, box: ch.box },
    done: (char) => {
      if (!pages.includes(p)) return; // other pages were chosen meanwhile
      p.checked.set(k, char);
      if (p !== currentPage()) return;
      showFeedbackError('page-feedback-error', null);
      if (pageSelected === k && k + 1 < count) selectPageCharacter(k + 1, true);
      else renderPage();
      const thanks = $('page-thanks');
      thanks.textContent = t('pageSaved', { char });
      thanks.hidden = false;
    },
    failed: (message) => showFeedbackError('page-feedback-error', message),
  };
}
/** The selected character is `classId`: a candidate chosen, or "Right". */
async function labelPageCharacter(classId: number, char: string): Promise<void> {
  const target = selectedPageTarget();
  if (target) await postFeedback(target, classId, char);
}
$('page-wrong').addEventListener('click', () => {
  const target = selectedPageTarget();
  if (target) openPicker(target);
});
$('page-right').addEventListener('click', () => {
  const p = currentPage();
  const ch = pageSelected === null || !isRead(p) ? null : p.answer.characters[pageSelected];
  if (ch) void labelPageCharacter(ch.class_id, ch.character);
});
/**
 * Checking a page from the keyboard, once a box is chosen: down / up the next / previous character in reading
 * order, left / right the next / previous column (vertical writing: columns run right to left), Enter "Right"
 * (on a box not yet chosen: choose it; with nothing to confirm: the next), 1-5 that candidate.
 */
$('page-view').addEventListener('keydown', (e) => {
  const p = currentPage();
  // Keys in the text keep their own meaning (scrolling it, selecting in it).
  if (!isRead(p) || e.ctrlKey || e.metaKey || e.altKey || (e.target as Element).closest('#page-text')) return;
  const onBox = e.target instanceof SVGRectElement;
  const at = onBox ? Number((e.target as SVGRectElement).dataset.index) : pageSelected;
  if (at === null) return;
  const characters = p.answer.characters;
  const here = characters[at]!;
  let next: number | undefined;
  if (e.key === 'ArrowDown') next = Math.min(at + 1, characters.length - 1);
  else if (e.key === 'ArrowUp') next = Math.max(at - 1, 0);
  else if (e.key === 'ArrowLeft') next = characters.findIndex((c) => c.column === here.column + 1);
  else if (e.key === 'ArrowRight') next = characters.findIndex((c) => c.column === here.column - 1);
  else if ((e.key === 'Enter' || e.key === ' ') && onBox) {
    e.preventDefault();
    if (at !== pageSelected) selectPageCharacter(at, true);
    else if (!$('page-right').hidden) $('page-right').click();
    else if (at + 1 < characters.length) selectPageCharacter(at + 1, true); // nothing to confirm: on to the next
    return;
  } else if (/^[1-5]$/.test(e.key) && at === pageSelected) {
    $('page-candidates').querySelectorAll('button')[Number(e.key) - 1]?.click();
    return;
  } else return;
  e.preventDefault();
  if (next !== undefined && next >= 0) selectPageCharacter(next, true);
});
$('page-copy').addEventListener('click', async () => {
  const p = currentPage();
  if (!isRead(p)) return;
  const note = $('page-copied');
  // The clipboard is there on HTTPS and localhost only: elsewhere the text is selected for the user to copy.
  try {
    await navigator.clipboard.writeText(correctedPageText(p));
    note.textContent = t('pageCopied');
  } catch {
    getSelection()?.selectAllChildren($('page-text'));
    note.textContent = t('pageCopySelect');
  }
  note.hidden = false;
});

function downloadText(text: string, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([`${text}\n`], { type: 'text/plain;charset=utf-8' }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
$('page-download').addEventListener('click', () => {
  const p = currentPage();
  if (isRead(p)) downloadText(correctedPageText(p), `${fileStem(p.file)}.txt`);
});
// Every page read, in order, apart by a blank line (as `k49 read` prints a book); a page that could not be read is left out.
$('page-download-all').addEventListener('click', () => {
  const read = pages.filter(isRead);
  if (read.length === 0) return;
  downloadText(bookText(read.map(correctedPageText)), `${fileStem(pages[0]!.file)}-${fileStem(pages[pages.length - 1]!.file)}.txt`);
});
$('page-prev').addEventListener('click', () => showPage(Math.max(0, shown - 1)));
$('page-next').addEventListener('click', () => showPage(Math.min(pages.length - 1, shown + 1)));
$<HTMLInputElement>('page-file').addEventListener('change', (e) => {
  const files = (e.target as HTMLInputElement).files;
  if (files?.length) void readPageFiles([...files]);
});

// ---------------------------------------------------------------- start, once every part above is declared
applyLanguage();
void refreshHealth();
void loadInBrowser();
