import type { ConcreteBackend } from './names';

/** Thrown when a backend's package is absent, fails to load, registers no backend or cannot run here. */
export class BackendUnavailableError extends Error {
  constructor(
    /** The backend that was asked for. */
    readonly backend: ConcreteBackend,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}
