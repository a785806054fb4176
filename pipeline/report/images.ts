/** PNG figures drawn with @napi-rs/canvas: heatmaps and image galleries. */
import { existsSync } from 'node:fs';
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';
import { IMAGE_SIZE, PIXELS } from '../core/dataset';

const LABEL_FONT = 'K49Label';
const FONT_FILES = ['/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf', '/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf'];
let fontReady = false;
function labelFont(px: number): string {
  if (!fontReady) {
    const file = FONT_FILES.find((f) => existsSync(f));
    if (file) GlobalFonts.registerFromPath(file, LABEL_FONT);
    fontReady = true;
  }
  return `${px}px ${LABEL_FONT}, sans-serif`;
}

/** White-to-blue colour for v in [0, 1]. */
function heat(v: number): string {
  const t = Math.sqrt(Math.min(1, Math.max(0, v)));
  return `rgb(${Math.round(255 - 230 * t)},${Math.round(255 - 180 * t)},${Math.round(255 - 60 * t)})`;
}

/** Row-normalised confusion matrix with class characters on both axes. */
export function confusionPng(confusion: number[][], labels: string[], title: string): Buffer {
  const n = labels.length,
    cell = 16,
    margin = 40;
  const canvas = createCanvas(margin + n * cell + 10, margin + n * cell + 30);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  for (let t = 0; t < n; t++) {
    const total = confusion[t]!.reduce((a, b) => a + b, 0);
    for (let p = 0; p < n; p++) {
      const v = total > 0 ? confusion[t]![p]! / total : 0;
      ctx.fillStyle = total === 0 ? '#f4f4f4' : heat(v);
      ctx.fillRect(margin + p * cell, margin + t * cell, cell - 1, cell - 1);
    }
  }
  ctx.fillStyle = '#222';
  ctx.font = labelFont(11);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  labels.forEach((l, i) => {
    ctx.fillText(l, margin + i * cell + cell / 2, margin - 10);
    ctx.fillText(l, margin - 12, margin + i * cell + cell / 2);
  });
  ctx.font = labelFont(12);
  ctx.textAlign = 'left';
  ctx.fillText(`${title}  (rows: true class, columns: predicted; row-normalised)`, 4, canvas.height - 12);
  return canvas.toBuffer('image/png');
}

function drawDigit(ctx: SKRSContext2D, img: Uint8Array, x: number, y: number, scale: number): void {
  const data = ctx.createImageData(IMAGE_SIZE, IMAGE_SIZE);
  for (let i = 0; i < PIXELS; i++) {
    data.data[i * 4] = data.data[i * 4 + 1] = data.data[i * 4 + 2] = img[i]!;
    data.data[i * 4 + 3] = 255;
  }
  const tile = createCanvas(IMAGE_SIZE, IMAGE_SIZE);
  tile.getContext('2d').putImageData(data, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile, x, y, IMAGE_SIZE * scale, IMAGE_SIZE * scale);
}

/** A grid of 28x28 images, each with a caption line under it. */
export function galleryPng(images: Uint8Array[], captions: string[], columns = 10, scale = 3): Buffer {
  const tileW = IMAGE_SIZE * scale + 8,
    tileH = IMAGE_SIZE * scale + 22;
  const rows = Math.max(1, Math.ceil(images.length / columns));
  const canvas = createCanvas(columns * tileW, rows * tileH);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = labelFont(13);
  ctx.textAlign = 'center';
  images.forEach((img, i) => {
    const x = (i % columns) * tileW + 4,
      y = Math.floor(i / columns) * tileH + 2;
    drawDigit(ctx, img, x, y, scale);
    ctx.fillStyle = '#222';
    ctx.fillText(captions[i] ?? '', x + (IMAGE_SIZE * scale) / 2, y + IMAGE_SIZE * scale + 15);
  });
  return canvas.toBuffer('image/png');
}

/** A simple line chart (e.g. training curves) as PNG, for places where Plotly cannot run. */
export function linePng(title: string, xs: number[], series: { name: string; ys: number[]; colour: string }[], width = 640, height = 320): Buffer {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const left = 50,
    right = 130,
    top = 30,
    bottom = 35;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const all = series.flatMap((s) => s.ys);
  const lo = Math.min(0, ...all),
    hi = Math.max(...all, 1e-9);
  const x = (v: number) => left + ((v - xs[0]!) / Math.max(1e-9, xs[xs.length - 1]! - xs[0]!)) * (width - left - right);
  const y = (v: number) => top + (1 - (v - lo) / (hi - lo)) * (height - top - bottom);
  ctx.strokeStyle = '#999';
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, height - bottom);
  ctx.lineTo(width - right, height - bottom);
  ctx.stroke();
  ctx.fillStyle = '#222';
  ctx.font = labelFont(12);
  ctx.fillText(title, left, 18);
  ctx.fillText(hi.toFixed(2), 4, top + 4);
  ctx.fillText(lo.toFixed(2), 4, height - bottom);
  ctx.fillText(String(xs[0]), left, height - 12);
  ctx.fillText(String(xs[xs.length - 1]), width - right - 10, height - 12);
  series.forEach((s, k) => {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.ys.forEach((v, i) => {
      if (i === 0) ctx.moveTo(x(xs[i]!), y(v));
      else ctx.lineTo(x(xs[i]!), y(v));
    });
    ctx.stroke();
    ctx.fillStyle = s.colour;
    ctx.fillText(s.name, width - right + 8, top + 16 * k + 8);
  });
  return canvas.toBuffer('image/png');
}

/**
 * Images per class for one or more splits, as grouped bars: a title, the
 * y axis with its scale and label, every class's character under its bars,
 * the x axis label and a legend. `onText` sees each text drawn (tests).
 */
export function classDistributionPng(series: { name: string; counts: number[] }[], labels: string[], onText: (text: string) => void = () => {}): Buffer {
  const w = 1040,
    h = 400,
    left = 64,
    right = 12,
    top = 36,
    bottom = 64;
  const canvas = createCanvas(w, h);
  const ctx = canvas.getContext('2d');
  const text = (s: string, x: number, y: number) => {
    ctx.fillText(s, x, y);
    onText(s);
  };
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  const max = Math.max(...series.flatMap((s) => s.counts), 1);
  const plotH = h - top - bottom;
  const slot = (w - left - right) / labels.length;
  const colours = ['#b5452b', '#2f6db5', '#5a8f29', '#8a5ab5'];
  // y axis: gridlines and values at 0, 1/4, ... of the largest class
  ctx.font = labelFont(11);
  ctx.textAlign = 'right';
  for (let k = 0; k <= 4; k++) {
    const y = top + plotH - (plotH * k) / 4;
    ctx.fillStyle = '#e6e6e6';
    ctx.fillRect(left, y, w - left - right, 1);
    ctx.fillStyle = '#444';
    text(String(Math.round((max * k) / 4)), left - 6, y + 4);
  }
  series.forEach((s, si) => {
    ctx.fillStyle = colours[si % colours.length]!;
    s.counts.forEach((n, c) => {
      const bh = (plotH * n) / max;
      ctx.fillRect(left + c * slot + (si * slot) / series.length, top + plotH - bh, slot / series.length - 1, bh);
    });
  });
  ctx.fillStyle = '#222';
  ctx.textAlign = 'center';
  ctx.font = labelFont(13);
  labels.forEach((label, c) => {
    text(label, left + (c + 0.5) * slot, top + plotH + 16);
  });
  ctx.font = labelFont(12);
  text('class (character)', left + (w - left - right) / 2, h - 24);
  ctx.font = labelFont(15);
  text('Images per class', w / 2, 22);
  ctx.save();
  ctx.translate(16, top + plotH / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.font = labelFont(12);
  text('images', 0, 0);
  ctx.restore();
  // legend
  ctx.textAlign = 'left';
  ctx.font = labelFont(12);
  series.forEach((s, si) => {
    const x = left + si * 110;
    ctx.fillStyle = colours[si % colours.length]!;
    ctx.fillRect(x, h - 14, 12, 10);
    ctx.fillStyle = '#222';
    text(s.name, x + 16, h - 5);
  });
  return canvas.toBuffer('image/png');
}
