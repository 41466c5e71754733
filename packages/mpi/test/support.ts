/** Running the fixtures under `mpirun` (MPICH's hydra, local processes only: `-launcher fork`, no ssh). */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadMpi } from '../src/index.ts';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Throws, with what to do, when mpirun or the MPI library is missing: the MPI tests fail rather than skip. */
export function requireMpi(): void {
  const found = spawnSync('sh', ['-c', 'command -v mpirun'], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error("mpirun is not installed: run `bash scripts/setup.sh` (it installs Debian's mpich: mpirun and libmpich.so.12)");
  }
  try {
    loadMpi();
  } catch (err) {
    throw new Error(`${(err as Error).message} (run \`bash scripts/setup.sh\`)`);
  }
}

export interface MpiRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr, lines of all ranks. */
  readonly output: string;
  readonly seconds: number;
  /** Whether the run was killed after `limitSeconds`. */
  readonly timedOut: boolean;
}

/**
 * `mpirun -launcher fork [options] -np <ranks> node --import tsx fixtures/<fixture>` from the repository root, with
 * `env` added to this process's environment; killed (its whole process group) after `limitSeconds`.
 */
export function mpirun(ranks: number, fixture: string, env: Record<string, string>, limitSeconds: number, options: string[] = []): Promise<MpiRun> {
  const script = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  const environment: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete environment.NLADMM_MPI;
  const args = ['-launcher', 'fork', ...options, '-np', String(ranks), process.execPath, '--import', 'tsx', script];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('mpirun', args, { cwd: repositoryRoot, env: environment, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk), (output += chunk)));
    child.stderr.on('data', (chunk: Buffer) => ((stderr += chunk), (output += chunk)));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid!, 'SIGKILL');
    }, limitSeconds * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, output, seconds: (performance.now() - started) / 1000, timedOut });
    });
  });
}
