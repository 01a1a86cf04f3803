/** `tf.setBackend` for a backend whose package registered it, with its failures as {@link BackendUnavailableError}. */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from './errors';
import type { ConcreteBackend } from './names';

/** One `tf.setBackend(tfName)`: whether it started, and the error it threw if any. */
export async function trySetBackend(tfName: string): Promise<{ ok: boolean; error?: unknown }> {
  try {
    return { ok: await tf.setBackend(tfName) };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * @throws BackendUnavailableError when the attempt failed, with tfjs's reason.
 */
export function checkStarted(
  backend: ConcreteBackend,
  tfName: string,
  result: { ok: boolean; error?: unknown },
): void {
  if (result.error !== undefined) {
    throw new BackendUnavailableError(
      backend,
      `initBackend('${backend}'): the '${tfName}' backend failed to start: ${result.error instanceof Error ? result.error.message : String(result.error)}`,
      { cause: result.error },
    );
  }
  if (!result.ok)
    throw new BackendUnavailableError(
      backend,
      `initBackend('${backend}'): the '${tfName}' backend failed to start (tf.setBackend returned false; see the warning above)`,
    );
}
