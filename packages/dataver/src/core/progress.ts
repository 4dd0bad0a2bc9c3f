// Progress reporting, decoupled from rendering: core functions tick a Progress;
// the CLI passes a terminal bar (TTY only) or nothing.

export interface Progress {
  start(label: string, total: number, totalBytes?: number): void;
  tick(count: number, bytes?: number): void;
  stop(): void;
}

/** A Progress that does nothing (tests, --quiet, non-TTY). */
export const silentProgress: Progress = {
  start() {},
  tick() {},
  stop() {},
};
