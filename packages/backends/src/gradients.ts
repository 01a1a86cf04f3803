/**
 * tfjs's own gradients, registered by `initBackend` so that nobody has to add
 * `import '@tensorflow/tfjs-core/dist/register_all_gradients'` by hand. tfjs-core's Node bundle
 * has none (`@tensorflow/tfjs` and tfjs-layers bring their own copy); its ES modules have them.
 *
 * Loaded by a dynamic import when first needed, so importing this package registers nothing.
 * The browser build leaves the import to the app's bundler (one copy, the app's tfjs-core); the
 * Node build bundles those modules (Node cannot load tfjs-core's extension-less ES modules), as
 * tfjs-layers' Node bundle does: they register into tfjs's global gradient registry.
 */
import { getGradient } from '@tensorflow/tfjs-core';

/** Stock kernels whose gradients tfjs registers and supcon never replaces. */
const SENTINELS = ['Relu', 'Conv2D', 'MatMul', 'Add', 'Sum'];

let loading: Promise<void> | undefined;

/** Whether tfjs's gradients are registered already (by an earlier call, tfjs-layers or `@tensorflow/tfjs`). */
export function tfjsGradientsRegistered(): boolean {
  return SENTINELS.every((kernel) => getGradient(kernel) != null);
}

/**
 * Registers tfjs's gradients unless they are registered already.
 * @throws Error naming the module when it cannot be loaded.
 */
export function registerTfjsGradients(): Promise<void> {
  if (tfjsGradientsRegistered()) return Promise.resolve();
  loading ??= import('@tensorflow/tfjs-core/dist/register_all_gradients').then(
    () => undefined,
    (error: unknown) => {
      loading = undefined;
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `initBackend: could not register tfjs's gradients from @tensorflow/tfjs-core/dist/register_all_gradients: ${reason}`,
        { cause: error },
      );
    },
  );
  return loading;
}
