/**
 * `initBackend('webgpu')` in Node: WebGPU from the optional `webgpu` package (Dawn). Simulated
 * packages check each sentence; the real package (a root devDependency) runs in a child process,
 * since jest's module sandbox cannot `import()` an ES module: it either starts WebGPU and
 * computes a product that the cpu backend checks, or, where Dawn finds no GPU (this project's CI
 * machines), refuses with the no-adapter sentence. Either way it is asserted, never skipped silently.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BackendUnavailableError, initBackend } from '../index';
import { provideNodeWebGpu } from './webgpu';

const root = path.resolve(__dirname, '../../../..');
type Globals = { navigator?: unknown; GPUBufferUsage?: unknown };
const g = globalThis as Globals;

function notFound(specifier: string): Error {
  return Object.assign(new Error(`Cannot find module '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
}

/** A stand-in for the `webgpu` package whose GPU has no adapter. */
function fakeWebGpu(requests: unknown[]) {
  return {
    create: (flags: string[]) => {
      requests.push(flags);
      return { requestAdapter: () => Promise.resolve(null) };
    },
    globals: { GPUBufferUsage: { MAP_READ: 1 } },
  };
}

afterEach(() => {
  delete g.navigator;
  delete g.GPUBufferUsage;
});

describe("initBackend('webgpu') in Node", () => {
  it("without the 'webgpu' package: says which package to install, and installs nothing on globalThis", async () => {
    const load = (s: string) => {
      throw notFound(s);
    };
    const error = await initBackend('webgpu', { load }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as BackendUnavailableError).backend).toBe('webgpu');
    expect((error as Error).message).toBe(
      "initBackend('webgpu'): in Node, WebGPU comes from the optional package 'webgpu' (Dawn, prebuilt inside the npm package; its install downloads nothing), which is not installed." +
        ' Install it in your app with `npm i webgpu @tensorflow/tfjs-backend-webgpu@^4.22.0`, or use wasm',
    );
    expect(g.navigator).toBeUndefined();
  });

  it('with a GPU that has no adapter: installs navigator.gpu and the GPU constants, then says no adapter was found', async () => {
    const requests: unknown[] = [];
    const loaded: string[] = [];
    const load = (s: string) => {
      loaded.push(s);
      return fakeWebGpu(requests);
    };
    await expect(initBackend('webgpu', { load })).rejects.toThrow(
      "initBackend('webgpu'): no WebGPU adapter was found (navigator.gpu.requestAdapter() returned null): the 'webgpu' package's Dawn found no GPU it can use",
    );
    // The package, never tfjs-backend-webgpu: the adapter check comes first.
    expect(loaded).toEqual(['webgpu']);
    expect(requests).toEqual([[]]);
    expect((g.navigator as { gpu?: unknown }).gpu).toBeDefined();
    expect(g.GPUBufferUsage).toEqual({ MAP_READ: 1 });
  });

  it("keeps an app's own navigator.gpu and does not load the package", async () => {
    const own = { requestAdapter: () => Promise.resolve(null) };
    g.navigator = { gpu: own };
    const load = jest.fn();
    await expect(initBackend('webgpu', { load })).rejects.toThrow(/no WebGPU adapter was found/);
    expect(load).not.toHaveBeenCalled();
    expect((g.navigator as { gpu: unknown }).gpu).toBe(own);
  });

  it('reports a package that fails to load, or exports something else, or cannot create a GPU', async () => {
    await expect(provideNodeWebGpu(() => Promise.reject(new Error('dawn.node: invalid ELF header')))).rejects.toThrow(
      "initBackend('webgpu'): the 'webgpu' package failed to load: dawn.node: invalid ELF header",
    );
    await expect(provideNodeWebGpu(() => ({ default: {} }))).rejects.toThrow(/it exports no create\(\) and globals/);
    const broken = { create: () => { throw new Error('no Vulkan loader'); }, globals: {} };
    await expect(provideNodeWebGpu(() => broken)).rejects.toThrow(
      "initBackend('webgpu'): the 'webgpu' package could not create a GPU instance: no Vulkan loader",
    );
    expect(g.navigator).toBeUndefined();
  });
});

describe("the real 'webgpu' package, in a child process", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'supcon-webgpu-test-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts WebGPU and computes as the cpu backend does, or refuses with the no-adapter sentence where Dawn finds no GPU', () => {
    const script = path.join(dir, 'webgpu.ts');
    writeFileSync(
      script,
      `import * as tf from ${JSON.stringify(require.resolve('@tensorflow/tfjs-core'))};
       import ${JSON.stringify(require.resolve('@tensorflow/tfjs-backend-cpu'))};
       import { initBackend } from ${JSON.stringify(path.join(__dirname, '../index.ts'))};
       const product = () => Array.from(tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[0.5, -1], [2, 0.25]])).dataSync());
       initBackend('webgpu').then(
         async (b) => { const gpu = product(); await tf.setBackend('cpu'); console.log(JSON.stringify({ started: b, gpu, cpu: product() })); },
         (e) => console.log(JSON.stringify({ name: e.name, message: e.message })),
       ).then(() => process.exit(0));`,
    );
    const out = execFileSync(process.execPath, ['--import', 'jiti/register', script], {
      cwd: root,
      env: { ...process.env, JITI_ALIAS: JSON.stringify({ '@supcon/core': path.join(root, 'packages/core/src/index.ts') }) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'], // Dawn writes its adapter diagnostics to stderr
      timeout: 120_000,
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { started?: string; gpu?: number[]; cpu?: number[]; name?: string; message?: string };
    if (result.started !== undefined) {
      expect(result.started).toBe('webgpu');
      result.gpu!.forEach((v, i) => expect(Math.abs(v - result.cpu![i]!)).toBeLessThan(1e-5));
    } else {
      expect(result.name).toBe('BackendUnavailableError');
      expect(result.message).toMatch(/^initBackend\('webgpu'\): no WebGPU adapter was found .* Dawn found no GPU it can use/);
      console.info(`no WebGPU adapter on this machine; the GPU half of this test ran the refusal: ${result.message}`);
    }
  }, 150_000);
});
