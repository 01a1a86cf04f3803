/** Which backend packages are installed, for `supcon doctor` (Node: resolves package.json files). */
import { wasmFeaturesSync } from '../features';
import type { WasmFeatures } from '../features';
import { AUTO_ORDER, BACKEND_PACKAGES, installMessage } from '../names';
import type { ConcreteBackend } from '../names';
import { requireOptional } from './require';

/** One row of {@link probeBackends}. */
export interface BackendProbe {
  backend: ConcreteBackend;
  /** Same as `backend`. */
  name: ConcreteBackend;
  /** The npm package the backend needs. */
  package: string;
  /** Whether the package resolves (next to @supcon/backends, else from the current folder). */
  installed: boolean;
  /** Same as `installed`. */
  available: boolean;
  /** Its version, when installed. */
  version?: string;
  /** Why not, when not installed (with the install command). */
  error?: string;
  /** wasm only, when installed: SIMD and threads support (read from tfjs flags when the wasm package is loaded). */
  wasm?: WasmFeatures;
}

/**
 * Which backends' packages are installed and their versions (for `supcon doctor`), in the
 * `'auto'` order. Only resolves `package.json` files: loads and starts nothing. Node only.
 */
export function probeBackends(): BackendProbe[] {
  return AUTO_ORDER.map((backend) => {
    const { pkg } = BACKEND_PACKAGES[backend];
    try {
      const raw = (requireOptional(`${pkg}/package.json`) as { version?: unknown }).version;
      const version = typeof raw === 'string' ? raw : undefined;
      const row: BackendProbe = {
        backend,
        name: backend,
        package: pkg,
        installed: true,
        available: true,
        version,
      };
      if (backend === 'wasm') row.wasm = wasmFeaturesSync();
      return row;
    } catch {
      return {
        backend,
        name: backend,
        package: pkg,
        installed: false,
        available: false,
        error: installMessage(backend),
      };
    }
  });
}
