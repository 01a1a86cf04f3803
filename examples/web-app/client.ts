/**
 * The page's side of the encoder's Web Worker (worker.ts): starts it, and turns its messages
 * (protocol.ts) into promises. Vite (and webpack 5, esbuild with a plugin, ...) bundles the
 * worker from the `new Worker(new URL(...), { type: 'module' })` below.
 */
import type {
  InitRequest,
  NeighboursReply,
  ReadyReply,
  WorkerReply,
  WorkerRequest,
} from './protocol';

// #region client
export class EncoderWorker {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  private readonly waiting = new Map<
    number | 'init',
    { resolve(reply: WorkerReply): void; reject(error: Error): void }
  >();
  private nextId = 0;

  constructor() {
    this.worker.onmessage = ({ data }: MessageEvent<WorkerReply>) => {
      const key = data.type === 'ready' ? 'init' : (data.id ?? 'init'); // an error without an id is init's
      const waiter = this.waiting.get(key);
      this.waiting.delete(key);
      if (data.type === 'error') waiter?.reject(new Error(data.message));
      else waiter?.resolve(data);
    };
    this.worker.onerror = (event) => {
      for (const waiter of this.waiting.values())
        waiter.reject(new Error(`the encoder's worker failed: ${event.message}`));
      this.waiting.clear();
    };
  }

  private send<R extends WorkerReply>(
    key: number | 'init',
    message: WorkerRequest,
    transfer: Transferable[] = [],
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.set(key, { resolve: resolve as (reply: WorkerReply) => void, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  /** Loads the encoder and embeds the gallery in the worker; the gallery's pixels are copied there. */
  init(options: Omit<InitRequest, 'type'>): Promise<ReadyReply> {
    const gallery = options.gallery.slice(); // a copy, transferred: the page keeps its own
    return this.send('init', { type: 'init', ...options, gallery }, [gallery.buffer]);
  }

  /** The `k` gallery images nearest to one image of `h * w * c` pixels, best first. */
  nearest(pixels: Uint8Array, k: number): Promise<NeighboursReply> {
    const id = this.nextId++;
    return this.send(id, { type: 'query', id, pixels, k });
  }

  /** Stops the worker; its tensors and backend go with it. */
  terminate(): void {
    this.worker.terminate();
    for (const waiter of this.waiting.values())
      waiter.reject(new Error('the encoder worker was stopped'));
    this.waiting.clear();
  }
}
// #endregion client
