/**
 * The wasm backend on two threads in Node (`initBackend('wasm', { threads: 2 })`), and how a web
 * page starts it (`startInBrowser` below). The thread count is fixed when the backend first starts
 * in a process, so this is its own program: asking for another count afterwards is an error.
 * Run: npm run examples (or, after a build, `node --import jiti/register examples/code/backends-wasm.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmThreadsInUse } from '@supcon/backends';

// #region threads
import { initBackend } from '@supcon/backends';

let fallback: string | undefined; // why the threaded build did not start, if it did not
await initBackend('wasm', { threads: 2, onThreadsFallback: (why) => (fallback = why) });
// #endregion threads

const threads = wasmThreadsInUse();
if (!(threads === 2 || (threads === 1 && fallback))) throw new Error(`asked for 2 threads, the wasm backend runs ${threads} (fallback: ${fallback})`);
if (threads === 2) {
  // Fixed at the first start: another count in the same process is refused, with the reason.
  const refused = await initBackend('wasm', { threads: 1 }).then(() => undefined, (error: Error) => error.message);
  if (!refused?.includes('threads are fixed when it first starts')) throw new Error(`initBackend('wasm', { threads: 1 }) after 2 threads: ${refused ?? 'no error'}`);
}
// A matrix product on the threads, against the same sums in plain JavaScript.
const n = 96;
const a = Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13 - 0.5);
const b = Array.from({ length: n * n }, (_, i) => ((i * 5) % 11) / 11 - 0.5);
const product = tf.tidy(() => tf.matMul(tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])).dataSync());
let worst = 0;
for (let i = 0; i < n; i++) {
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += a[i * n + k]! * b[k * n + j]!;
    worst = Math.max(worst, Math.abs(sum - product[i * n + j]!));
  }
}
if (!(worst < 1e-4)) throw new Error(`matMul on ${threads} threads differs from JavaScript by ${worst}`);
console.log(`wasm on ${threads} thread${threads > 1 ? 's' : ''}${fallback ? ` (fell back: ${fallback})` : ''}; a ${n}×${n} matMul agrees with JavaScript to ${worst.toExponential(1)}`);

/**
 * In a web page (a bundle built for the browser: Vite, webpack, `esbuild --platform=browser`
 * resolve the same import to @supcon/backends' browser build). Type-checked with the rest of
 * this file but not called here: Node has no page serving the `.wasm` files.
 */
export async function startInBrowser(): Promise<void> {
  // #region browser
  await initBackend('wasm', {
    wasmPaths: '/wasm/', // where node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm are served (or a CDN URL)
    threads: 4, // only on a cross-origin isolated page; else one thread, and onThreadsFallback says why
    onThreadsFallback: (why) => console.warn(why),
  });
  // #endregion browser
}
