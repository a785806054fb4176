/**
 * Folded layers (folded.ts) as two files for the web page: a manifest (the
 * layers without their weights) and the weights, rounded to WEIGHT_MANTISSA_BITS
 * of float32's 23 mantissa bits and stored as byte planes (every weight's
 * sign-and-exponent byte first, then its next byte, ...): the high planes are
 * nearly constant and compress well, and the dropped low bits are noise the
 * probabilities do not notice (the bits were chosen on training images:
 * docs/browser.md). Browser-safe: the server encodes, the page decodes, with
 * these lines.
 */
import type { FoldedLayer } from './folded';

/**
 * Mantissa bits kept per weight: the fewest (of 7, 10, 12, 15) whose
 * probabilities stay within 1e-4 of the full weights' on every kmnist-real
 * training image (docs/browser.md has the run).
 */
const WEIGHT_MANTISSA_BITS = 15;

type WeightRef = { offset: number; count: number };
type ManifestLayer =
  | (Omit<Extract<FoldedLayer, { kind: 'conv' }>, 'kernel' | 'bias'> & { kernel: WeightRef; bias: WeightRef })
  | (Omit<Extract<FoldedLayer, { kind: 'dense' }>, 'kernel' | 'bias'> & { kernel: WeightRef; bias: WeightRef })
  | Exclude<FoldedLayer, { kind: 'conv' | 'dense' }>;

export interface FoldedManifest {
  format: 'k49-folded-1';
  /** The float32 mantissa bits kept; the byte planes stored (ceil((9 + bits) / 8)). */
  mantissaBits: number;
  planes: number;
  /** Weights in all: the length of each plane. */
  weights: number;
  layers: ManifestLayer[];
}

/** A float32's bits rounded to the nearest value with `bits` mantissa bits (ties away from zero). */
function roundMantissa(u: number, bits: number): number {
  const drop = 23 - bits;
  if (drop <= 0) return u;
  return ((u + (1 << (drop - 1))) & ~((1 << drop) - 1)) >>> 0;
}

/** Folded layers -> manifest and weight planes. */
export function encodeFolded(layers: FoldedLayer[], mantissaBits = WEIGHT_MANTISSA_BITS): { manifest: FoldedManifest; weights: Uint8Array } {
  const arrays: Float32Array[] = [];
  let total = 0;
  const ref = (values: Float32Array): WeightRef => {
    arrays.push(values);
    total += values.length;
    return { offset: total - values.length, count: values.length };
  };
  const described = layers.map((l): ManifestLayer => (l.kind === 'conv' || l.kind === 'dense' ? { ...l, kernel: ref(l.kernel), bias: ref(l.bias) } : l));
  const planes = Math.ceil((9 + mantissaBits) / 8);
  const out = new Uint8Array(planes * total);
  let i = 0;
  for (const values of arrays) {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (const u of bits) {
      const r = roundMantissa(u, mantissaBits);
      for (let p = 0; p < planes; p++) out[p * total + i] = (r >>> (24 - 8 * p)) & 0xff;
      i++;
    }
  }
  return { manifest: { format: 'k49-folded-1', mantissaBits, planes, weights: total, layers: described }, weights: out };
}

/** Manifest and weight planes -> folded layers (the weights as encodeFolded rounded them). */
export function decodeFolded(manifest: FoldedManifest, planes: Uint8Array): FoldedLayer[] {
  if (manifest.format !== 'k49-folded-1') throw new Error(`unknown model format ${manifest.format}`);
  const n = manifest.weights;
  if (planes.length !== manifest.planes * n) throw new Error(`the weights file has ${planes.length} bytes; the manifest says ${manifest.planes * n}`);
  const bits = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let u = 0;
    for (let p = 0; p < manifest.planes; p++) u |= planes[p * n + i]! << (24 - 8 * p);
    bits[i] = u >>> 0;
  }
  const all = new Float32Array(bits.buffer);
  const read = (r: WeightRef) => all.slice(r.offset, r.offset + r.count);
  return manifest.layers.map((l): FoldedLayer => (l.kind === 'conv' || l.kind === 'dense' ? { ...l, kernel: read(l.kernel), bias: read(l.bias) } : l));
}
