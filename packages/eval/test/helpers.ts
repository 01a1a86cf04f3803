import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRng } from '@supcon/core';

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
}

/** `perClass` points per class around well separated random centres in `dim` dimensions. */
export function clusters(numClasses: number, perClass: number, dim: number, spread: number, seed: number): { x: number[][]; y: number[] } {
  const rng = createRng(seed);
  const centres = Array.from({ length: numClasses }, () => Array.from({ length: dim }, () => rng.normal()));
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < perClass; i++) {
    for (let c = 0; c < numClasses; c++) {
      x.push((centres[c] as number[]).map((v) => v + spread * rng.normal()));
      y.push(c);
    }
  }
  return { x, y };
}
