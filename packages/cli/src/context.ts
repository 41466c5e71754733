import { type Communicator, singleProcess } from '@nladmm/core';

/** Where a command writes and what it may touch; the real process or a test's capture. */
export interface CliContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Draw a progress bar (stderr is a terminal). */
  readonly isTTY: boolean;
  readonly columns: number;
  readonly cwd: string;
  /** Install SIGINT/SIGTERM handlers for graceful stops (the real CLI only). */
  readonly handleSignals: boolean;
  /** Aborting it stops a training run as a signal would (tests). */
  readonly signal?: AbortSignal;
  /** The ranks of a sharded run (`mpirun -np P nladmm train …`); one process otherwise. */
  readonly communicator: Communicator;
}

export function processContext(): CliContext {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    columns: process.stderr.columns || 100,
    cwd: process.cwd(),
    handleSignals: true,
    communicator: singleProcess,
  };
}

/**
 * The notices of one command (`nladmm <command>: notice: …`, one line each on stderr): each text at most once (a
 * comparison creates several backends), none under --quiet (like the other notices; warnings are always shown).
 */
export function noticePrinter(ctx: CliContext, command: string, quiet: boolean): (text: string) => void {
  const seen = new Set<string>();
  return (text) => {
    if (quiet || seen.has(text)) return;
    seen.add(text);
    ctx.stderr(`nladmm ${command}: notice: ${text}\n`);
  };
}
