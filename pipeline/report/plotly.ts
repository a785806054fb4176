/**
 * Self-contained interactive HTML with Plotly, the bundle inlined so reports
 * open offline, with no CDN. The cartesian partial bundle (bar, scatter,
 * heatmap, ...) holds every trace type the reports and notebooks draw, at
 * about a third of the full bundle's size in every page.
 */
import { readFileSync } from 'node:fs';

let cached: string | null = null;

function plotlyBundle(): string {
  cached ??= readFileSync(require.resolve('plotly.js-cartesian-dist-min/plotly-cartesian.min.js'), 'utf8');
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
<script>Plotly.newPlot('${id}', ${JSON.stringify(figure.data)}, ${JSON.stringify({ title: { text: figure.title }, margin: { t: 40 }, ...figure.layout })}, {responsive: true});</script>`;
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

/** A confusion matrix as a heatmap: row-normalised shares for colour, counts on hover. */
export function confusionFigure(title: string, confusion: number[][], chars: string[]): PlotlyFigure {
  const rowNormalised = confusion.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (total > 0 ? v / total : null));
  });
  return {
    title,
    data: [
      {
        type: 'heatmap',
        z: rowNormalised,
        x: chars,
        y: chars,
        customdata: confusion,
        hovertemplate: 'true %{y} → predicted %{x}<br>%{customdata} images (%{z:.1%})<extra></extra>',
        // Empty cells light, the diagonal dark; shares on one fixed 0..1 scale.
        colorscale: 'Blues',
        reversescale: true,
        zmin: 0,
        zmax: 1,
      },
    ],
    layout: {
      height: 900,
      xaxis: { title: { text: 'predicted' }, type: 'category' },
      yaxis: { title: { text: 'true' }, type: 'category', autorange: 'reversed' },
    },
  };
}

/** The interactive confusion-matrix page of an evaluation. */
export function confusionMatrixPage(title: string, summary: string, confusion: number[][], chars: string[]): string {
  return plotlyPage(title, [{ html: `<p>${escapeHtml(summary)}</p>` }, confusionFigure('Row-normalised confusion (hover for counts)', confusion, chars)]);
}
