/**
 * Self-contained interactive HTML with Plotly: the plotly.js-dist bundle is
 * minified once (esbuild) and inlined, so reports open offline, with no CDN.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transformSync } from 'esbuild';

let cached: string | null = null;

function plotlyBundle(): string {
  if (cached) return cached;
  const source = require.resolve('plotly.js-dist/plotly.js');
  const version = (require('plotly.js-dist/package.json') as { version: string }).version;
  const cacheFile = path.join(process.env.K49_CACHE ?? path.join(os.homedir(), '.cache', 'k49'), `plotly-${version}.min.js`);
  if (existsSync(cacheFile)) {
    cached = readFileSync(cacheFile, 'utf8');
  } else {
    cached = transformSync(readFileSync(source, 'utf8'), { minify: true, loader: 'js' }).code;
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    writeFileSync(cacheFile, cached);
  }
  return cached;
}

export interface PlotlyFigure {
  title: string;
  data: unknown[];
  layout?: Record<string, unknown>;
}

/** Inline Plotly bundle as a <script> block (for notebooks: emit once, then use plotlyDiv). */
export function plotlyScriptTag(): string {
  return `<script>${plotlyBundle()}</script>`;
}

/** One interactive figure, expecting window.Plotly to be loaded already. */
export function plotlyDiv(id: string, figure: PlotlyFigure): string {
  return `<div id="${id}" style="width:100%;min-height:380px"></div>
<script>Plotly.newPlot('${id}', ${JSON.stringify(figure.data)}, ${JSON.stringify({ title: figure.title, margin: { t: 40 }, ...figure.layout })}, {responsive: true});</script>`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A page of figures with optional HTML sections between them. */
export function plotlyPage(title: string, blocks: (PlotlyFigure | { html: string })[]): string {
  const body = blocks
    .map((b, i) =>
      'html' in b
        ? b.html
        : `<h2>${escapeHtml(b.title)}</h2><div id="fig${i}" class="fig"></div>
<script>Plotly.newPlot('fig${i}', ${JSON.stringify(b.data)}, ${JSON.stringify({ margin: { t: 30 }, ...b.layout })}, {responsive: true});</script>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,"Noto Sans CJK JP",sans-serif;margin:2rem;max-width:1200px;color:#222}
.fig{width:100%;min-height:420px}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}
img{image-rendering:pixelated;max-width:100%}</style>
<script>${plotlyBundle()}</script></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}
