/**
 * Renders one glyph source as a K49-style 28x28 sample: outline drawn with
 * @napi-rs/canvas under a random affine transform and stroke-width change,
 * elastically distorted, fitted by the shared preprocessing, then degraded
 * like a scan (blur, ink contrast, noise, neighbour fragments, erasing).
 */
import { createCanvas, Path2D, type SKRSContext2D } from '@napi-rs/canvas';
import { IMAGE_SIZE, PIXELS } from '../core/dataset';
import { fitToK49 } from '../core/preprocess/fit';
import type { Random } from '../core/random';
import { DEFAULT_RENDER, type RenderParams } from './config';
import { elastic, eraseRectangle, gaussianBlur, inkAndNoise, pasteNeighbourStrip, strokeWidth } from './degrade';
import type { GlyphSource } from './fonts';

/** 2D affine matrix in canvas order: x' = a x + c y + e, y' = b x + d y + f. */
interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

export class GlyphRenderer {
  private readonly ctx: SKRSContext2D;
  private readonly paths = new Map<GlyphSource, Path2D>();
  /** Native stroke width of each source, in font units, measured once. */
  private readonly nativeWidth = new Map<GlyphSource, number>();
  /** Recent finished samples, the pool neighbour fragments come from. */
  private readonly recent: Uint8Array[] = [];

  constructor(private readonly params: RenderParams = DEFAULT_RENDER) {
    const s = params.workSize;
    this.ctx = createCanvas(s, s).getContext('2d');
  }

  private path(src: GlyphSource): Path2D {
    let p = this.paths.get(src);
    if (!p) {
      p = new Path2D(src.svgPath);
      this.paths.set(src, p);
    }
    return p;
  }

  /** Draws the outline with transform matrix m and returns the red channel as floats. */
  private draw(src: GlyphSource, m: Affine, extraWidth: number): Float32Array {
    const s = this.params.workSize;
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, s, s);
    ctx.setTransform(m.a, m.b, m.c, m.d, m.e, m.f);
    const path = this.path(src);
    ctx.fillStyle = '#fff';
    ctx.fill(path);
    if (extraWidth !== 0) {
      // Thicken by stroking the outline in ink, thin by stroking it in background.
      ctx.lineJoin = 'round';
      ctx.strokeStyle = extraWidth > 0 ? '#fff' : '#000';
      const scale = Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
      ctx.lineWidth = Math.abs(extraWidth) / scale;
      ctx.stroke(path);
    }
    const rgba = ctx.getImageData(0, 0, s, s).data;
    const out = new Float32Array(s * s);
    for (let i = 0; i < out.length; i++) out[i] = rgba[i * 4]!;
    return out;
  }

  /** Maps the glyph's bbox onto the work canvas, with optional jitter. */
  private matrix(src: GlyphSource, rng: Random | null): Affine {
    const p = this.params;
    const s = p.workSize;
    const { minX, minY, maxX, maxY } = src.bbox;
    const cx = (minX + maxX) / 2,
      cy = (minY + maxY) / 2;
    const base = (s * 0.62) / Math.max(maxX - minX, maxY - minY);
    const aspect = rng ? Math.exp(rng.uniform(-p.aspectJitter, p.aspectJitter)) : 1;
    const sx = base * aspect,
      sy = -base / aspect; // font units are y-up
    const theta = rng ? (clamp(rng.normal(0, p.rotationStdDeg), -3 * p.rotationStdDeg, 3 * p.rotationStdDeg) * Math.PI) / 180 : 0;
    const shear = rng ? rng.uniform(-p.shearMax, p.shearMax) : 0;
    // M = T(s/2) * R(theta) * Shear_x(shear) * S(sx, sy) * T(-c)
    const cos = Math.cos(theta),
      sin = Math.sin(theta);
    const a0 = sx,
      c0 = shear * sy,
      b0 = 0,
      d0 = sy; // Shear * Scale
    const a = cos * a0 - sin * b0,
      b = sin * a0 + cos * b0;
    const c = cos * c0 - sin * d0,
      d = sin * c0 + cos * d0;
    return { a, b, c, d, e: s / 2 - (a * cx + c * cy), f: s / 2 - (b * cx + d * cy) };
  }

  /** The glyph's own stroke width in font units (measured on a plain rendering). */
  private fontStrokeWidth(src: GlyphSource): number {
    let w = this.nativeWidth.get(src);
    if (w === undefined) {
      const m = this.matrix(src, null);
      const px = strokeWidth(this.draw(src, m, 0), this.params.workSize, this.params.workSize);
      w = px / Math.abs(m.a);
      this.nativeWidth.set(src, w);
    }
    return w;
  }

  /** A clean, centred rendering (no augmentation) of a source. */
  renderClean(src: GlyphSource): Uint8Array {
    const s = this.params.workSize;
    return fitToK49({ width: s, height: s, data: this.draw(src, this.matrix(src, null), 0) });
  }

  render(src: GlyphSource, rng: Random): Uint8Array {
    const p = this.params;
    const s = p.workSize;
    const m = this.matrix(src, rng);
    const scale = Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
    // Work px per final px: the fitted glyph's longer side becomes 28 px.
    const { minX, minY, maxX, maxY } = src.bbox;
    const workPerFinal = (Math.max(maxX - minX, maxY - minY) * scale) / IMAGE_SIZE;
    const native = this.fontStrokeWidth(src) * scale;
    const [mean, std, lo, hi] = p.strokeWidth;
    const target = clamp(rng.normal(mean, std), lo, hi) * workPerFinal;
    const extra = Math.max(target - native, -0.6 * native);

    let work = this.draw(src, m, extra);
    work = elastic(work, s, s, rng.uniform(p.elasticSigma[0], p.elasticSigma[1]), rng);
    const fitted = fitToK49({ width: s, height: s, data: work });

    let img: Float32Array = Float32Array.from(fitted);
    const w = IMAGE_SIZE;
    if (this.recent.length > 0 && rng.chance(p.neighbourProb)) {
      const rows = rng.int(p.neighbourRows[0], p.neighbourRows[1] + 1);
      pasteNeighbourStrip(img, rng.pick(this.recent), w, w, rows, rng.chance(0.5));
    }
    if (rng.chance(p.blurProb)) img = gaussianBlur(img, w, w, rng.uniform(p.blurSigma[0], p.blurSigma[1]));
    let max = 0;
    for (const v of img) if (v > max) max = v;
    if (max > 0) for (let i = 0; i < img.length; i++) img[i] = (img[i]! * 255) / max;
    const noise = rng.chance(p.noiseProb) ? rng.uniform(p.noiseStd[0], p.noiseStd[1]) : 0;
    inkAndNoise(img, rng.uniform(p.gamma[0], p.gamma[1]), noise, rng);
    if (rng.chance(p.eraseProb)) eraseRectangle(img, w, w, rng, 3, 8);

    const out = new Uint8Array(PIXELS);
    for (let i = 0; i < PIXELS; i++) out[i] = Math.round(img[i]!);
    this.recent.push(fitted);
    if (this.recent.length > 64) this.recent.shift();
    return out;
  }
}
