// The per-epoch progress bar on stderr (loss, accuracy, images/s), loaded only when it is shown.

/** The part of cli-progress's bar the epoch loop uses. */
export interface ProgressBar {
  start(total: number, value: number, payload: Record<string, unknown>): void;
  update(value: number, payload: Record<string, unknown>): void;
  stop(): void;
}

/**
 * A progress bar for one epoch's batches, on stderr, cleared when the epoch completes.
 *
 * @example
 * ```ts
 * const bar = await progressBar();
 * bar.start(100, 0, { epoch: 1, epochs: 3, loss: '-', acc: '-', ips: '-' });
 * ```
 */
export async function progressBar(): Promise<ProgressBar> {
  const { SingleBar } = await import('cli-progress');
  return new SingleBar({
    format:
      'epoch {epoch}/{epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc}% | {ips} images/s | eta {eta}s',
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stderr,
  });
}
