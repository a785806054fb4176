/**
 * A read page as a picture: the scan with each character's box drawn over it, coloured by how sure the
 * model is (colours.ts), shrunk to
 * `width`. For `k49 read --picture` and the README's example.
 */
import sharp from 'sharp';
import { confidenceColour } from './colours';
import type { PageCharacter } from './read';

export async function pagePicture(scan: Buffer, characters: readonly PageCharacter[], width = 900, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const upright = await sharp(scan).rotate().png().toBuffer();
  const meta = await sharp(upright).metadata();
  const stroke = Math.max(2, Math.round(Math.max(meta.width!, meta.height!) / 500));
  const rects = characters
    .map(
      (ch) =>
        `<rect x="${ch.box[0]}" y="${ch.box[1]}" width="${ch.box[2]}" height="${ch.box[3]}" fill="none" stroke="${confidenceColour(ch)}" stroke-width="${stroke}"/>`,
    )
    .join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${meta.width}" height="${meta.height}">${rects}</svg>`);
  const drawn = await sharp(upright)
    .composite([{ input: svg }])
    .png()
    .toBuffer();
  const small = sharp(drawn).resize({ width, withoutEnlargement: true });
  return (format === 'jpeg' ? small.jpeg({ quality: 82 }) : small.png()).toBuffer();
}
