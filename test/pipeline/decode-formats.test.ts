/**
 * What users upload, decoded as they see it: phone photos stored sideways
 * with an EXIF orientation tag (all 8 values), and BMP files (8-bit palette
 * and 24-bit), which scanners still write. Each must reach the model as the
 * upright image does.
 */
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { PIXELS } from '../../pipeline/core/dataset';
import { K49Classifier } from '../../pipeline/core/inference';
import { decodeToK49 } from '../../pipeline/core/preprocess';
import { decodePlainPng, decodeWithSharp, type ImageDecodeError } from '../../pipeline/core/preprocess/decode';
import { realSample, realSamplePng } from '../helpers/images';
import { TEST_MODEL } from '../helpers/service';

const LIMITS = { maxPixels: 40_000_000 };

/** A real glyph as a dark-on-light, non-square greyscale page (W x H), as a phone or scanner gives it. */
async function uprightGlyph(index: number, width = 90, height = 130): Promise<{ width: number; height: number; data: Uint8Array }> {
  const s = await realSample();
  const inverted = Uint8Array.from(s.images.subarray(index * PIXELS, (index + 1) * PIXELS), (v) => 255 - v);
  const data = await sharp(Buffer.from(inverted), { raw: { width: 28, height: 28, channels: 1 } })
    .resize(width - 20, height - 20, { fit: 'fill', kernel: 'cubic' })
    .extend({ top: 10, bottom: 10, left: 10, right: 10, background: { r: 255, g: 255, b: 255 } })
    .greyscale()
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data) };
}

/**
 * Where a viewer, honouring EXIF orientation `o`, takes viewed pixel (x, y)
 * from in the stored W x H pixels (the TIFF/EXIF definitions of 1..8).
 */
function storedPosition(o: number, x: number, y: number, w: number, h: number): [number, number] {
  switch (o) {
    case 1:
      return [x, y];
    case 2:
      return [w - 1 - x, y]; // mirrored horizontally
    case 3:
      return [w - 1 - x, h - 1 - y]; // rotated 180
    case 4:
      return [x, h - 1 - y]; // mirrored vertically
    case 5:
      return [y, x]; // transposed
    case 6:
      return [y, h - 1 - x]; // stored rotated: turn 90 clockwise to view
    case 7:
      return [w - 1 - y, h - 1 - x]; // transversed
    case 8:
      return [w - 1 - y, x]; // turn 90 counter-clockwise to view
    default:
      throw new Error(`orientation ${o}`);
  }
}

/** The JPEG a camera writes for `upright` with orientation tag `o`: pixels stored so that applying `o` shows `upright`. */
async function orientedJpeg(upright: { width: number; height: number; data: Uint8Array }, o: number): Promise<Buffer> {
  const swap = o >= 5;
  const sw = swap ? upright.height : upright.width;
  const sh = swap ? upright.width : upright.height;
  const stored = new Uint8Array(sw * sh);
  for (let y = 0; y < upright.height; y++) {
    for (let x = 0; x < upright.width; x++) {
      const [sx, sy] = storedPosition(o, x, y, sw, sh);
      stored[sy * sw + sx] = upright.data[y * upright.width + x]!;
    }
  }
  return sharp(Buffer.from(stored), { raw: { width: sw, height: sh, channels: 1 } })
    .jpeg({ quality: 100 })
    .withMetadata({ orientation: o })
    .toBuffer();
}

/** A minimal BMP writer (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes), independent of the decoder under test. */
function bmp(gray: { width: number; height: number; data: Uint8Array }, bits: 8 | 24): Buffer {
  const { width, height, data } = gray;
  const rowBytes = Math.ceil((width * bits) / 8 / 4) * 4;
  const palette = bits === 8 ? 256 * 4 : 0;
  const offset = 14 + 40 + palette;
  const out = Buffer.alloc(offset + rowBytes * height);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(offset, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(bits, 28);
  out.writeUInt32LE(rowBytes * height, 34);
  if (bits === 8) {
    out.writeUInt32LE(256, 46);
    for (let i = 0; i < 256; i++) out.writeUInt32LE((i << 16) | (i << 8) | i, 54 + i * 4); // grey ramp, BGR0
  }
  for (let y = 0; y < height; y++) {
    const row = offset + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const v = data[y * width + x]!;
      if (bits === 8) out[row + x] = v;
      else out.fill(v, row + x * 3, row + x * 3 + 3);
    }
  }
  return out;
}

const maxDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('decoding what users upload', function () {
  this.timeout(60000);
  let classifier: K49Classifier;
  before(async () => {
    classifier = await K49Classifier.load(TEST_MODEL);
  });
  const answer = async (image: Uint8Array) => (await classifier.classify(image)).classes[0];

  it('a JPEG with each of the 8 EXIF orientations reaches the model as the upright image does', async () => {
    for (const index of [0, 150, 1700]) {
      const upright = await uprightGlyph(index);
      const reference = await decodeToK49(await orientedJpeg(upright, 1), LIMITS);
      for (let o = 2; o <= 8; o++) {
        const image = await decodeToK49(await orientedJpeg(upright, o), LIMITS);
        assert.ok(maxDiff(image, reference) <= 40, `image ${index}, orientation ${o}: pixels differ by ${maxDiff(image, reference)}`);
        assert.equal(await answer(image), await answer(reference), `image ${index}, orientation ${o}`);
      }
    }
  });

  it('BMP, 8-bit palette and 24-bit, decodes to the same model input as the PNG of the same pixels', async () => {
    for (const index of [3, 900]) {
      const glyph = await uprightGlyph(index, 61, 87); // odd width: rows need padding
      const png = await decodeToK49(
        await sharp(Buffer.from(glyph.data), { raw: { width: glyph.width, height: glyph.height, channels: 1 } })
          .png()
          .toBuffer(),
        LIMITS,
      );
      for (const bits of [8, 24] as const) {
        const image = await decodeToK49(bmp(glyph, bits), LIMITS);
        assert.deepEqual([...image], [...png], `image ${index}, ${bits}-bit BMP`);
      }
    }
  });

  it('every format the 415 message and the UI name decodes: PNG, lossless WebP, TIFF, GIF and BMP give the same model input, JPEG the same answer', async () => {
    const glyph = await uprightGlyph(1200);
    const raw = () => sharp(Buffer.from(glyph.data), { raw: { width: glyph.width, height: glyph.height, channels: 1 } });
    const png = await decodeToK49(await raw().png().toBuffer(), LIMITS);
    const same: Record<string, Buffer> = {
      webp: await raw().webp({ lossless: true }).toBuffer(),
      tiff: await raw().tiff({ compression: 'lzw' }).toBuffer(),
      gif: await raw().gif({ colours: 256, dither: 0 }).toBuffer(),
      bmp: bmp(glyph, 24),
    };
    for (const [format, bytes] of Object.entries(same)) assert.deepEqual([...(await decodeToK49(bytes, LIMITS))], [...png], format);
    assert.equal(await answer(await decodeToK49(await raw().jpeg({ quality: 95 }).toBuffer(), LIMITS)), await answer(png), 'jpeg');
  });

  it('a BMP declaring more pixels than MAX_PIXELS is refused from its header; a truncated one is a clear error', async () => {
    const header = bmp({ width: 4, height: 4, data: new Uint8Array(16) }, 24);
    header.writeInt32LE(50_000, 18);
    header.writeInt32LE(50_000, 22);
    await assert.rejects(decodeToK49(header, LIMITS), (e: ImageDecodeError) => e.kind === 'too_large' && /MAX_PIXELS/.test(e.message));
    const glyph = await uprightGlyph(0);
    const truncated = bmp(glyph, 24).subarray(0, 2000);
    await assert.rejects(decodeToK49(truncated, LIMITS), (e: ImageDecodeError) => e.kind === 'corrupt' && /BMP/.test(e.message));
  });

  it('a small plain PNG decoded in-line gives exactly the pixels sharp gives, in every colour type; others go to sharp', async () => {
    const cases: [string, Buffer][] = [];
    for (const index of [0, 1, 500, 1000, 2000]) cases.push([`real-sample ${index} (28x28 grey)`, await realSamplePng(index)]);
    const glyph = await uprightGlyph(700, 61, 87);
    const raw = () => sharp(Buffer.from(glyph.data), { raw: { width: glyph.width, height: glyph.height, channels: 1 } });
    cases.push(['grey', await raw().png().toBuffer()]);
    cases.push(['grey + alpha', await raw().ensureAlpha(0.6).png().toBuffer()]);
    cases.push(['RGB', await raw().toColourspace('srgb').png().toBuffer()]);
    cases.push(['RGBA', await raw().toColourspace('srgb').ensureAlpha(0.8).png().toBuffer()]);
    cases.push(['palette', await raw().png({ palette: true, colours: 64, dither: 0 }).toBuffer()]);
    cases.push(['palette with transparency', await raw().ensureAlpha(0.5).png({ palette: true, colours: 64, dither: 0 }).toBuffer()]);
    for (const [name, bytes] of cases) {
      const inline = decodePlainPng(bytes, LIMITS);
      assert.ok(inline, `${name}: decoded in-line`);
      const reference = await decodeWithSharp(bytes, 'png', LIMITS);
      assert.deepEqual([inline.width, inline.height], [reference.width, reference.height], name);
      assert.ok(Buffer.from(inline.data).equals(Buffer.from(reference.data)), `${name}: RGBA pixels differ from sharp's`);
    }
    // Left to sharp: 16-bit samples, an image to downscale, an embedded colour profile, interlacing, a truncated file.
    assert.equal(decodePlainPng(await raw().toColourspace('grey16').png().toBuffer(), LIMITS), null, '16-bit');
    assert.equal(decodePlainPng(await raw().resize(600, 900).png().toBuffer(), LIMITS), null, 'larger than the work size');
    assert.equal(decodePlainPng(await raw().toColourspace('srgb').withIccProfile('p3').png().toBuffer(), LIMITS), null, 'colour profile');
    assert.equal(decodePlainPng(await raw().png({ progressive: true }).toBuffer(), LIMITS), null, 'interlaced');
    const truncated = (await raw().png().toBuffer()).subarray(0, 200);
    assert.equal(decodePlainPng(truncated, LIMITS), null, 'truncated');
    await assert.rejects(decodeToK49(truncated, LIMITS), (e: ImageDecodeError) => e.kind === 'corrupt', 'a truncated PNG is still reported as corrupt');
  });
});
