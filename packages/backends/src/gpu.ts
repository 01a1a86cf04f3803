/**
 * Before starting 'webgl' or 'webgpu': whether this environment has the GPU API at all, so that
 * a page or process without one gets a sentence that says so, not tfjs's warning and a `false`.
 */
import { BackendUnavailableError } from './errors';
import type { ConcreteBackend } from './names';

/** The slice of the WebGPU API this check uses (lib.dom of TypeScript 5 does not declare it). */
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<unknown>;
}

/** Whether this runs in Node (read from globalThis, so browser bundles reference no `process`). */
function inNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav?.gpu ?? undefined;
}

/** A WebGL context from a fresh canvas (OffscreenCanvas in workers), or undefined when none. */
function webglContext(): unknown {
  const g = globalThis as {
    OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown };
    document?: { createElement(tag: 'canvas'): { getContext(kind: string): unknown } };
  };
  const canvas =
    g.OffscreenCanvas !== undefined
      ? new g.OffscreenCanvas(1, 1)
      : g.document !== undefined
        ? g.document.createElement('canvas')
        : undefined;
  if (canvas === undefined) return undefined;
  return canvas.getContext('webgl2') ?? canvas.getContext('webgl') ?? undefined;
}

/**
 * @throws BackendUnavailableError for 'webgpu' without `navigator.gpu` or without an adapter,
 *   and for 'webgl' where no WebGL context can be made. Other backends pass.
 */
export async function checkGpuAvailable(backend: ConcreteBackend): Promise<void> {
  if (backend === 'webgpu') {
    const gpu = navigatorGpu();
    if (gpu === undefined)
      throw new BackendUnavailableError(
        backend,
        "initBackend('webgpu'): this environment has no WebGPU (navigator.gpu is undefined): it needs a browser with WebGPU" +
          " (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows), a secure context (https or localhost), and a supported GPU; use 'webgl' or 'wasm' instead",
      );
    let adapter: unknown;
    try {
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch (error) {
      throw new BackendUnavailableError(
        backend,
        `initBackend('webgpu'): navigator.gpu.requestAdapter() failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    if (adapter == null)
      throw new BackendUnavailableError(
        backend,
        inNode()
          ? "initBackend('webgpu'): no WebGPU adapter was found (navigator.gpu.requestAdapter() returned null): the 'webgpu' package's Dawn found no GPU it can use" +
              " (it needs a GPU with a Vulkan driver on Linux, Metal on macOS, D3D12 on Windows); use 'tensorflow-gpu' (CUDA) or 'wasm' instead"
          : "initBackend('webgpu'): no WebGPU adapter was found (navigator.gpu.requestAdapter() returned null): WebGPU is there but no GPU is usable" +
              " (none, blocklisted, or disabled in this browser); use 'webgl' or 'wasm' instead",
      );
  } else if (backend === 'webgl') {
    if (webglContext() === undefined)
      throw new BackendUnavailableError(
        backend,
        "initBackend('webgl'): no WebGL context could be created (a browser page or worker with WebGL enabled is needed); use 'wasm' instead",
      );
  }
}
