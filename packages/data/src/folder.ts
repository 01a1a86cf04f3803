/**
 * Image folders: `root/<class>/<file>.png|jpg|jpeg`, classes = sorted folder names. PNG is decoded
 * with pngjs and JPEG with jpeg-js (pure JavaScript, no native code).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ImageDataset } from '@supcon/core';

export interface ImageFolderOptions {
  root: string;
  /** Resize every image to `[h, w]` (nearest neighbour); without it all images must share one size. */
  size?: [number, number];
  /** 1 (luma, ITU-R 601) or 3 (RGB, default); alpha is dropped. */
  channels?: 1 | 3;
}

export const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

function decode(file: string): { width: number; height: number; rgba: Uint8Array } {
  const buffer = readFileSync(file);
  try {
    if (path.extname(file).toLowerCase() === '.png') {
      const png = PNG.sync.read(buffer);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    const img = jpeg.decode(buffer, { useTArray: true, formatAsRGBA: true });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (error) {
    throw new Error(`${file}: cannot decode image (${(error as Error).message})`);
  }
}

/**
 * Decodes `files` (PNG or JPEG) into one uint8 HWC array, resized to `size` (nearest neighbour) or
 * all of the first image's size. Shared by the image-folder and multi-label-folder readers.
 */
export function readImages(files: readonly string[], size: [number, number] | undefined, channels: 1 | 3): { images: Uint8Array; shape: [number, number, number] } {
  let [h, w] = size ?? [0, 0];
  const pixels: Uint8Array[] = [];
  for (const file of files) {
    const img = decode(file);
    if (h === 0) [h, w] = [img.height, img.width];
    if (!size && (img.height !== h || img.width !== w)) {
      throw new Error(`${file}: ${img.width}x${img.height} differs from the first image's ${w}x${h}: pass size: [h, w] to resize`);
    }
    const out = new Uint8Array(h * w * channels);
    for (let y = 0; y < h; y++) {
      const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / h));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / w));
        const s = (sy * img.width + sx) * 4;
        const o = (y * w + x) * channels;
        if (channels === 3) {
          out[o] = img.rgba[s];
          out[o + 1] = img.rgba[s + 1];
          out[o + 2] = img.rgba[s + 2];
        } else {
          out[o] = Math.round(0.299 * img.rgba[s] + 0.587 * img.rgba[s + 1] + 0.114 * img.rgba[s + 2]);
        }
      }
    }
    pixels.push(out);
  }
  const length = h * w * channels;
  const images = new Uint8Array(files.length * length);
  pixels.forEach((p, i) => images.set(p, i * length));
  return { images, shape: [h, w, channels] };
}

/** Reads every image of an image folder into one uint8 HWC dataset. */
export function loadImageFolder(options: ImageFolderOptions): ImageDataset {
  const { root, channels = 3 } = options;
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`root: ${root} is not a folder`);
  const classes = readdirSync(root).filter((d) => statSync(path.join(root, d)).isDirectory()).sort();
  if (classes.length === 0) throw new Error(`${root}: no class folders (expected root/<class>/<image>.png|jpg)`);
  const files: { file: string; label: number }[] = [];
  classes.forEach((c, label) => {
    const dir = path.join(root, c);
    const images = readdirSync(dir).filter((f) => EXTENSIONS.has(path.extname(f).toLowerCase())).sort();
    if (images.length === 0) throw new Error(`${dir}: empty class folder (no .png, .jpg or .jpeg files)`);
    for (const f of images) files.push({ file: path.join(dir, f), label });
  });
  const { images, shape } = readImages(files.map((f) => f.file), options.size, channels);
  return { size: files.length, shape, images, labels: Int32Array.from(files, (f) => f.label), classes };
}
