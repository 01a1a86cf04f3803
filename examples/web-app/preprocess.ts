/**
 * Images in and out of the encoder's input format on a page (canvas 2D): an uploaded file made
 * into `h * w * c` uint8 pixels as the encoder was trained on them (supcon.json's `inputShape`),
 * and pixels drawn back into an image for display.
 */

/** What an uploaded image became. */
export interface Prepared {
  /** `h * w * c` bytes, row by row: what the encoder sees (embed() divides them by 255). */
  pixels: Uint8Array;
  /** Whether it was inverted (a dark garment on a light background made light on dark). */
  inverted: boolean;
}

// #region preprocess
/**
 * An image file as the encoder's input: scaled to fit `[h, w]` whole (centred, the rest filled
 * with the image's own background colour, the mean of its border), made grayscale when `c` is 1,
 * and inverted when its background is light. Fashion-MNIST's images are light garments on black,
 * so a photo of a dark shirt on white must be turned round to look like them.
 */
export async function prepareImage(file: Blob, [h, w, c]: readonly number[]): Promise<Prepared> {
  const bitmap = await createImageBitmap(file);
  try {
    // The background: the mean colour of the border of the image, seen small.
    const probe = canvas2d(32, 32);
    probe.drawImage(bitmap, 0, 0, 32, 32);
    const border = borderMean(probe.getImageData(0, 0, 32, 32));

    const ctx = canvas2d(w, h);
    ctx.fillStyle = `rgb(${border.map(Math.round).join(' ')})`;
    ctx.fillRect(0, 0, w, h);
    const scale = Math.min(w / bitmap.width, h / bitmap.height);
    const [dw, dh] = [bitmap.width * scale, bitmap.height * scale];
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, (w - dw) / 2, (h - dh) / 2, dw, dh);
    const { data } = ctx.getImageData(0, 0, w, h); // RGBA bytes

    const inverted = luma(border[0], border[1], border[2]) > 127;
    const pixels = new Uint8Array(h * w * c);
    for (let i = 0; i < h * w; i++) {
      const [r, g, b] = [data[4 * i], data[4 * i + 1], data[4 * i + 2]];
      const values = c === 1 ? [Math.round(luma(r, g, b))] : [r, g, b];
      for (let j = 0; j < c; j++) pixels[i * c + j] = inverted ? 255 - values[j] : values[j];
    }
    return { pixels, inverted };
  } finally {
    bitmap.close();
  }
}

/** ITU-R BT.601 luma, as most grayscale conversions (and Fashion-MNIST's) weigh red, green and blue. */
const luma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
// #endregion preprocess

function canvas2d(width: number, height: number): CanvasRenderingContext2D {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser has no canvas 2D context');
  return ctx;
}

/** Mean RGB of the outermost ring of pixels. */
function borderMean({ data, width, height }: ImageData): [number, number, number] {
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x !== 0 && y !== 0 && x !== width - 1 && y !== height - 1) continue;
      for (let j = 0; j < 3; j++) sum[j] += data[4 * (y * width + x) + j];
      n++;
    }
  }
  return [sum[0] / n, sum[1] / n, sum[2] / n];
}

/** `h * w * c` uint8 pixels (c = 1 or 3) as a PNG data URL, for an `<img>`. */
export function pixelsToDataUrl(pixels: Uint8Array, [h, w, c]: readonly number[]): string {
  const ctx = canvas2d(w, h);
  const image = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    for (let j = 0; j < 3; j++) image.data[4 * i + j] = pixels[i * c + (c === 1 ? 0 : j)];
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return ctx.canvas.toDataURL('image/png');
}
