// The README's library examples run as written. Every ```ts / ```js block of README.md preceded by
// `<!-- readme-test -->` is written to a temporary file under test/ (so the workspace packages resolve), run with tsx,
// and must exit 0 and print each line its `// prints: …` comments name, in order. `<!-- readme-test: webgpu -->` runs
// a block only where createNodeDevice() finds an adapter; `<!-- readme-test: skip (reason) -->` never runs it. Every
// code block of "## Using the library" must carry one of the markers. Also: createContainer accepts a registry.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ActivationRegistry, type StepRule } from '@nladmm/core';
import { TOKENS, createContainer } from '@nladmm/core/container';
import { builtinActivations, createDefaultRegistry, sigmoid } from '@nladmm/activations';
import { CpuBackend } from '@nladmm/cpu-backend';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = fileURLToPath(new URL('.', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const README = readFileSync(join(root, 'README.md'), 'utf8');
const BLOCK_TIMEOUT_MS = 90_000;

type Mode = 'run' | 'webgpu' | 'skip' | 'unmarked' | 'bad-marker';
interface Block {
  readonly line: number; // 1-based line of the opening fence
  readonly lang: 'ts' | 'js';
  readonly code: string;
  readonly mode: Mode;
  readonly marker?: string;
  readonly section: string; // the enclosing "## " heading
}

/** The ```ts and ```js blocks of a markdown text, with the marker on the nearest non-blank line before each. */
function codeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (/^## /.test(lines[i])) section = lines[i];
    const fence = /^(```+|~~~+)\s*([\w-]*)/.exec(lines[i]);
    if (!fence) continue;
    const close = lines.findIndex((l, j) => j > i && l.startsWith(fence[1]) && l.trim() === fence[1]);
    if (close < 0) throw new Error(`README.md:${i + 1}: unclosed code fence`);
    const lang = fence[2].toLowerCase();
    if (['ts', 'typescript', 'js', 'javascript', 'mjs'].includes(lang)) {
      let p = i - 1;
      while (p >= 0 && lines[p].trim() === '') p--;
      const prev = p >= 0 ? lines[p].trim() : '';
      let mode: Mode = 'unmarked';
      let marker: string | undefined;
      const m = /^<!--\s*readme-test(?::\s*(.*?))?\s*-->$/.exec(prev);
      if (m) {
        marker = prev;
        const arg = m[1];
        if (arg === undefined || arg === '') mode = 'run';
        else if (arg === 'webgpu') mode = 'webgpu';
        else if (/^skip\s*\(.*\S.*\)$/.test(arg)) mode = 'skip';
        else mode = 'bad-marker';
      }
      blocks.push({ line: i + 1, lang: lang.startsWith('t') ? 'ts' : 'js', code: lines.slice(i + 1, close).join('\n') + '\n', mode, marker, section });
    }
    i = close;
  }
  return blocks;
}

/** The lines a block says it prints: the text of its `// prints: …` comments, in order. */
function expectedLines(code: string): string[] {
  return [...code.matchAll(/^\s*\/\/ prints: (.*)$/gm)].map((m) => m[1].trim());
}

const blocks = codeBlocks(README);
const LIBRARY = '## Using the library';

let tmp: string | undefined;
function tempDir(): string {
  tmp ??= mkdtempSync(join(testDir, '.readme-blocks-'));
  return tmp;
}
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Ran {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runFile(file: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(tsx, [file], { cwd: root, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

function runBlock(block: Block): Promise<Ran> {
  const file = join(tempDir(), `readme-line-${block.line}.${block.lang === 'ts' ? 'ts' : 'mjs'}`);
  writeFileSync(file, block.code);
  return runFile(file, BLOCK_TIMEOUT_MS);
}

let webgpuProbe: Promise<boolean> | undefined;
/** Whether Dawn finds a WebGPU adapter here (in a child process: a live device would stay in this worker). */
function webgpuAvailable(): Promise<boolean> {
  webgpuProbe ??= (async () => {
    const file = join(tempDir(), 'webgpu-probe.ts');
    writeFileSync(file, "import { createNodeDevice } from '@nladmm/webgpu-backend/node';\n(await createNodeDevice()).destroy();\n");
    return (await runFile(file, 60_000)).code === 0;
  })();
  return webgpuProbe;
}

function assertRan(block: Block, ran: Ran): void {
  const where = `README.md:${block.line}`;
  const tail = (s: string) => s.split('\n').slice(-30).join('\n');
  expect(ran.signal, `${where} was killed (${ran.signal}; timeout ${BLOCK_TIMEOUT_MS} ms)\n${tail(ran.stderr)}`).toBeNull();
  expect(ran.code, `${where} exited ${ran.code}\nstdout:\n${tail(ran.stdout)}\nstderr:\n${tail(ran.stderr)}`).toBe(0);
  const printed = ran.stdout.split('\n').map((l) => l.trim());
  let from = 0;
  for (const want of expectedLines(block.code)) {
    const at = printed.indexOf(want, from);
    expect(at, `${where} should print "${want}"; it printed:\n${tail(ran.stdout)}`).toBeGreaterThanOrEqual(0);
    from = at + 1;
  }
}

describe('README.md code blocks', () => {
  it('has runnable blocks in "## Using the library", each marked to run or skipped with a reason', () => {
    const library = blocks.filter((b) => b.section === LIBRARY);
    expect(library.length).toBeGreaterThan(0);
    const bad = library.filter((b) => b.mode === 'unmarked' || b.mode === 'bad-marker');
    expect(
      bad.map((b) => `README.md:${b.line}: ${b.marker ? `unknown marker ${b.marker}` : 'no <!-- readme-test --> or <!-- readme-test: skip (reason) --> on the line before'}`),
    ).toEqual([]);
    expect(library.some((b) => b.mode === 'run')).toBe(true);
  });

  it('finds the markers and the printed lines (parser self-check)', () => {
    const md = [
      '## Using the library',
      '<!-- readme-test -->',
      '```ts',
      "console.log('a');",
      '// prints: a',
      '```',
      '<!-- readme-test: skip (needs a file) -->',
      '```js',
      '```',
      '```ts',
      '```',
      '<!-- readme-test: maybe -->',
      '```ts',
      '```',
      '## Next',
    ].join('\n');
    const found = codeBlocks(md);
    expect(found.map((b) => [b.line, b.lang, b.mode])).toEqual([
      [3, 'ts', 'run'],
      [8, 'js', 'skip'],
      [10, 'ts', 'unmarked'],
      [13, 'ts', 'bad-marker'],
    ]);
    expect(expectedLines(found[0].code)).toEqual(['a']);
  });

  for (const block of blocks.filter((b) => b.mode === 'run' || b.mode === 'webgpu')) {
    const first = block.code.split('\n').find((l) => l.startsWith('import') === false && l.trim() !== '') ?? '';
    it(`README.md:${block.line} (${block.mode === 'webgpu' ? 'WebGPU, ' : ''}${block.section.slice(3)}) runs and prints what it says: ${first.slice(0, 60)}`, async (ctx) => {
      if (block.mode === 'webgpu' && !(await webgpuAvailable())) {
        ctx.skip('no WebGPU adapter (createNodeDevice failed)');
        return;
      }
      assertRan(block, await runBlock(block));
    }, BLOCK_TIMEOUT_MS + 60_000);
  }
});

describe('createContainer({ activations })', () => {
  it('binds a registry given to it as it is (createDefaultRegistry()), so later registrations are seen', () => {
    const registry = createDefaultRegistry();
    const container = createContainer({ backend: new CpuBackend(), activations: registry });
    const bound = container.get<ActivationRegistry>(TOKENS.ActivationRegistry);
    expect(bound).toBe(registry);
    expect(bound.names()).toEqual(['sigmoid', 'tanh', 'atan', 'softplus', 'silu']);
    const copy = { ...sigmoid, name: 'sigmoid-copy' };
    registry.register(copy);
    expect(container.get<ActivationRegistry>(TOKENS.ActivationRegistry).get('sigmoid-copy').name).toBe('sigmoid-copy');
    expect(container.get<StepRule>(TOKENS.StepRule).name).toBe('paper');
  });

  it('still puts an array or any iterable of activations in a new registry; none gives an empty one', () => {
    const fromArray = createContainer({ backend: new CpuBackend(), activations: builtinActivations });
    expect(fromArray.get<ActivationRegistry>(TOKENS.ActivationRegistry).names()).toEqual(['sigmoid', 'tanh', 'atan', 'softplus', 'silu']);
    const fromSet = createContainer({ backend: new CpuBackend(), activations: new Set([sigmoid]) });
    expect(fromSet.get<ActivationRegistry>(TOKENS.ActivationRegistry).names()).toEqual(['sigmoid']);
    const empty = createContainer({ backend: new CpuBackend() });
    expect(empty.get<ActivationRegistry>(TOKENS.ActivationRegistry).names()).toEqual([]);
  });

  it('a registry is iterable, so it can seed another one', () => {
    const copy = new ActivationRegistry(createDefaultRegistry());
    expect(copy.names()).toEqual(['sigmoid', 'tanh', 'atan', 'softplus', 'silu']);
    expect([...copy].map((a) => a.name)).toEqual(copy.names());
  });

  it('refuses anything else with a TypeError that says what it takes', () => {
    const bad = { sigmoid } as unknown as Iterable<typeof sigmoid>;
    expect(() => createContainer({ backend: new CpuBackend(), activations: bad })).toThrow(
      /createContainer: activations must be an ActivationRegistry or an iterable of activations, got an object \(sigmoid\)/,
    );
  });
});
