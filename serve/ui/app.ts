/**
 * The web page's behaviour (plain TypeScript, bundled by esbuild when the
 * server starts): draw on a canvas or upload/paste/drop an image, and see the
 * prediction, the top-5 candidates and the 28x28 image the model saw; or send
 * a batch and follow it to a results table with CSV/JSON download.
 */
import { format, TEXT, type Lang } from './i18n';

interface Candidate { class_id: number; prediction: string; confidence: number }
interface PredictResponse { prediction: string; class_id: number; confidence: number; top_k: Candidate[]; model_version: string; time_ms: number; model_input_png?: string }
type TaskResult = { filename: string; prediction: string; class_id: number; confidence: number } | { filename: string; error: string };
interface Task { task_id: string; status: 'processing' | 'completed' | 'failed'; progress: { done: number; total: number }; results: TaskResult[]; error?: string }

const LOW_CONFIDENCE = 0.5;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// ---------------------------------------------------------------- language
let lang: Lang = (localStorage.getItem('k49-lang') as Lang) || (navigator.language.startsWith('ja') ? 'ja' : 'en');
const t = (key: string, values: Record<string, string | number> = {}) => format(TEXT[lang][key] ?? key, values);
let modelLine = '';
function applyLanguage(): void {
  document.documentElement.lang = lang;
  document.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => (el.textContent = t(el.dataset.i18n!)));
  $('lang-toggle').textContent = TEXT[lang].switchTo!;
  if (modelLine) $('model-info').textContent = modelLine;
  void refreshHealth();
}
$('lang-toggle').addEventListener('click', () => {
  lang = lang === 'en' ? 'ja' : 'en';
  localStorage.setItem('k49-lang', lang);
  applyLanguage();
});

async function refreshHealth(): Promise<void> {
  try {
    const res = await fetch('/health');
    const h = (await res.json()) as { status: string; model: { version: string; trained_on: string; balanced_accuracy: number | null } | null; reason?: string };
    modelLine = h.model
      ? t('modelLine', { version: h.model.version, trained: h.model.trained_on, acc: h.model.balanced_accuracy === null ? '—' : h.model.balanced_accuracy.toFixed(3) })
      : t('modelUnavailable', { reason: h.reason ?? res.statusText });
  } catch (e) {
    modelLine = t('modelUnavailable', { reason: (e as Error).message });
  }
  $('model-info').textContent = modelLine;
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

function showPrediction(p: PredictResponse): void {
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

let latestRequest = 0;
async function recognise(image: Blob, name: string): Promise<void> {
  const id = ++latestRequest;
  const form = new FormData();
  form.append('file', image, name);
  try {
    const res = await fetch('/predict?top_k=5&include_image=true', { method: 'POST', body: form });
    const body = await res.json();
    if (id !== latestRequest) return; // a newer stroke already asked
    if (!res.ok) showError((body as { detail: string }).detail);
    else showPrediction(body as PredictResponse);
  } catch (e) {
    if (id === latestRequest) showError((e as Error).message);
  }
}

// ---------------------------------------------------------------- drawing (pointer events: mouse, touch, pen)
type Stroke = { width: number; points: [number, number][] };
const pad = $<HTMLCanvasElement>('pad');
const ctx = pad.getContext('2d')!;
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
    s.points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
    if (s.points.length === 1) ctx.lineTo(s.points[0]![0] + 0.1, s.points[0]![1]);
    ctx.stroke();
  }
}
function toCanvas(e: PointerEvent): [number, number] {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) / r.width) * pad.width, ((e.clientY - r.top) / r.height) * pad.height];
}
function scheduleRecognition(): void {
  window.clearTimeout(debounce);
  if (strokes.length === 0) return;
  const mine = ++actionSeq;
  debounce = window.setTimeout(() => pad.toBlob((b) => b && mine === actionSeq && recognise(b, 'drawing.png'), 'image/png'), 250);
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
const endStroke = () => {
  if (!current) return;
  current = null;
  scheduleRecognition();
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
  $('result-body').hidden = true;
  $('result-empty').hidden = false;
});
document.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'z' && !$('panel-draw').hidden) {
    e.preventDefault();
    $('undo').click();
  }
});

// ---------------------------------------------------------------- upload: picker, drag and drop, paste
function useFile(file: File): void {
  window.clearTimeout(debounce);
  actionSeq++;
  const preview = $<HTMLImageElement>('upload-preview');
  preview.src = URL.createObjectURL(file);
  preview.alt = file.name;
  preview.hidden = false;
  void recognise(file, file.name);
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
function chooseBatch(list: FileList | null): void {
  batchFiles = Array.from(list ?? []).filter((f) => f.type.startsWith('image/') || /\.(png|jpe?g|webp|gif|tiff?)$/i.test(f.name));
  $('batch-selected').textContent = t('selected', { n: batchFiles.length });
  $<HTMLButtonElement>('batch-send').disabled = batchFiles.length === 0;
}
$<HTMLInputElement>('batch-files').addEventListener('change', (e) => chooseBatch((e.target as HTMLInputElement).files));
$<HTMLInputElement>('batch-folder').addEventListener('change', (e) => chooseBatch((e.target as HTMLInputElement).files));

function renderBatchTable(results: TaskResult[]): void {
  const table = $<HTMLTableElement>('batch-table');
  const rows = results.map((r, i) => {
    const tr = document.createElement('tr');
    const img = document.createElement('img');
    img.alt = r.filename;
    if (batchFiles[i]) img.src = URL.createObjectURL(batchFiles[i]!);
    const cells = [document.createElement('td'), document.createElement('td'), document.createElement('td'), document.createElement('td')];
    cells[0]!.append(img);
    cells[1]!.textContent = r.filename;
    if ('error' in r) {
      cells[2]!.textContent = '—';
      cells[3]!.textContent = r.error;
      cells[3]!.className = 'err';
    } else {
      cells[2]!.textContent = r.prediction;
      cells[2]!.className = 'pred';
      cells[2]!.lang = 'ja';
      cells[3]!.textContent = `${(r.confidence * 100).toFixed(1)}%`;
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
    lines.push('error' in r ? [csvCell(r.filename), '', '', '', csvCell(r.error)].join(',') : [csvCell(r.filename), csvCell(r.prediction), r.class_id, r.confidence, ''].join(','));
  }
  download('k49-results.csv', 'text/csv', '\ufeff' + lines.join('\n') + '\n');
});
$('download-json').addEventListener('click', () => download('k49-results.json', 'application/json', JSON.stringify(batchResults, null, 2)));

$('batch-send').addEventListener('click', async () => {
  const status = $('batch-status');
  const bar = $<HTMLProgressElement>('batch-progress');
  $<HTMLButtonElement>('batch-send').disabled = true;
  showError(null);
  try {
    status.textContent = t('uploading', { n: batchFiles.length });
    const form = new FormData();
    for (const f of batchFiles) form.append('files', f, f.webkitRelativePath || f.name);
    const res = await fetch('/batch_predict', { method: 'POST', body: form });
    const accepted = (await res.json()) as { task_id?: string; detail?: string };
    if (!res.ok || !accepted.task_id) throw new Error(accepted.detail ?? res.statusText);
    bar.hidden = false;
    for (;;) {
      const task = (await (await fetch(`/tasks/${accepted.task_id}`)).json()) as Task;
      bar.max = Math.max(1, task.progress.total);
      bar.value = task.progress.done;
      status.textContent = t('progress', { done: task.progress.done, total: task.progress.total });
      if (task.status === 'completed') {
        batchResults = task.results;
        renderBatchTable(task.results);
        status.textContent = t('completed', { n: task.results.length });
        break;
      }
      if (task.status === 'failed') throw new Error(task.error ?? 'failed');
      await new Promise((r) => setTimeout(r, 400));
    }
  } catch (e) {
    status.textContent = t('failed', { reason: (e as Error).message });
  } finally {
    $<HTMLButtonElement>('batch-send').disabled = batchFiles.length === 0;
  }
});

applyLanguage();
