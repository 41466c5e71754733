// The apps of examples/ as a user runs them: each example folder is copied into a folder of its own inside the app
// folder of installPackedPackages(), so that its `@nladmm/*` imports resolve to the packages installed there from
// the tarballs (dist/ builds, no workspace links, no tsx), and run there with plain node and npm.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { basename, join } from 'node:path';
import { repoRoot } from '../../scripts/pack-packages.mjs';

export const EXAMPLES_DIR = join(repoRoot, 'examples');

/** What an example writes when run in place: not copied. */
const OUTPUTS = new Set(['node_modules', 'dist', 'runs', 'package-lock.json']);

/** Copies examples/<name> into a new folder inside `app` (the caller removes it); returns its path. */
export function copyExample(app: string, name: string): string {
  const dir = mkdtempSync(join(app, `example-${name}-`));
  cpSync(join(EXAMPLES_DIR, name), dir, { recursive: true, filter: (src) => !OUTPUTS.has(basename(src)) && !src.endsWith('.safetensors') });
  return dir;
}

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * The environment of a user's shell: this process's, without what pnpm and vitest set for their children (npm would
 * read pnpm's npm_config_* settings; NODE_OPTIONS may carry a loader), and with `pathFirst` put in front of PATH.
 */
function userEnv(pathFirst?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|NODE_OPTIONS$|VITEST)/i.test(key)) continue;
    env[key] = value;
  }
  if (pathFirst) env.PATH = `${pathFirst}:${env.PATH ?? ''}`;
  return env;
}

/** Runs a command in `cwd` and resolves with its exit code and output (it never rejects on a failing command). */
export function run(command: string, args: readonly string[], cwd: string, options: { timeoutMs?: number; pathFirst?: string } = {}): Promise<Ran> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: userEnv(options.pathFirst), timeout: options.timeoutMs ?? 90_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** A failure message with the command's output. */
export function describeRun(what: string, ran: Ran): string {
  const tail = (s: string) => s.trim().split('\n').slice(-25).join('\n');
  return `${what} exited ${ran.code}\nstdout:\n${tail(ran.stdout)}\nstderr:\n${tail(ran.stderr)}`;
}

/** The first line of `stdout` that matches `pattern`, as its match; throws with the output when none does. */
export function line(stdout: string, pattern: RegExp): RegExpMatchArray {
  for (const l of stdout.split('\n')) {
    const m = pattern.exec(l.trim());
    if (m) return m;
  }
  throw new Error(`no line matches ${pattern}; the output was:\n${stdout}`);
}
