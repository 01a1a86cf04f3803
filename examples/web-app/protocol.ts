/** The messages between the page (client.ts) and the encoder's Web Worker (worker.ts). */
import type { EncoderMetadata } from '@supcon/train';
import type { BackendChoice, Neighbour } from './encoder';

export type Loader = 'tfjs' | 'supcon';

/** Load the encoder and embed the gallery (`n * h * w * c` uint8 pixels), replacing any earlier one. */
export interface InitRequest {
  type: 'init';
  /** The exported folder's URL, absolute (a worker resolves relative URLs against its own script). */
  encoderUrl: string;
  /** Where tfjs-backend-wasm's .wasm files are served, absolute, ending in '/'. */
  wasmPaths: string;
  backend: BackendChoice;
  loader: Loader;
  gallery: Uint8Array;
}

/** The `k` gallery images nearest to one image (`h * w * c` uint8 pixels). */
export interface QueryRequest {
  type: 'query';
  id: number;
  pixels: Uint8Array;
  k: number;
}

export type WorkerRequest = InitRequest | QueryRequest;

export interface ReadyReply {
  type: 'ready';
  backend: string;
  metadata: EncoderMetadata;
  gallerySize: number;
  /** Time to load the encoder and embed the gallery. */
  ms: number;
}

export interface NeighboursReply {
  type: 'neighbours';
  id: number;
  neighbours: Neighbour[];
  ms: number;
  /** `tf.memory().numTensors` in the worker after the query: the same after each, or tensors leak. */
  tensors: number;
}

export interface ErrorReply {
  type: 'error';
  /** The query's id; none for a failed init. */
  id?: number;
  message: string;
}

export type WorkerReply = ReadyReply | NeighboursReply | ErrorReply;
