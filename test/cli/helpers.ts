// Helpers of the CLI tests: run the CLI in-process or as a subprocess, and check the files it writes.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@nladmm/cli';

export const BIN = fileURLToPath(new URL('../../packages/cli/bin/nladmm.mjs', import.meta.url));
export const PLUGINS = fileURLToPath(new URL('../fixtures/plugins/', import.meta.url));

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in this process with its output captured. */
export async function cli(argv: readonly string[], cwd: string, signal?: AbortSignal): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    isTTY: false,
    columns: 120,
    cwd,
    handleSignals: false,
    signal,
  });
  return { code, stdout, stderr };
}

/** Starts the real executable (node bin/nladmm.mjs) as a child process (`env`: variables set on top of this process's). */
export function spawnCli(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, [BIN, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}

/** Runs the executable to completion. */
export function cliProcess(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(argv, cwd, env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }));
  });
}

export async function tempDir(prefix = 'nladmm-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/**
 * A minimal XML well-formedness check: one root element, every tag closed in order, attributes quoted and
 * unique, entity references valid, nothing but whitespace after the root. Throws a message on failure.
 */
export function checkWellFormedXml(xml: string): { root: string; elements: number } {
  let k = 0;
  const stack: string[] = [];
  let root = '';
  let elements = 0;
  let closedRoot = false;
  const name = /^[A-Za-z_:][A-Za-z0-9_.:-]*/;
  const fail = (why: string): never => {
    throw new Error(`XML not well formed at ${k}: ${why}`);
  };
  const checkText = (text: string) => {
    if (text.includes('<')) fail('stray <');
    for (const m of text.matchAll(/&([^;]*);?/g)) {
      if (!/^(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+)$/.test(m[1]) || !m[0].endsWith(';')) fail(`bad entity ${m[0]}`);
    }
  };
  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) fail('unterminated declaration');
    k = end + 2;
  }
  while (k < xml.length) {
    const lt = xml.indexOf('<', k);
    const text = xml.slice(k, lt < 0 ? xml.length : lt);
    if (stack.length === 0 && text.trim() !== '') fail('text outside the root element');
    checkText(text);
    if (lt < 0) break;
    k = lt;
    if (xml.startsWith('<!--', k)) {
      const end = xml.indexOf('-->', k);
      if (end < 0) fail('unterminated comment');
      k = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', k);
    if (gt < 0) fail('unterminated tag');
    const tag = xml.slice(k + 1, gt);
    if (tag.startsWith('/')) {
      const closing = tag.slice(1).trim();
      if (stack.pop() !== closing) fail(`</${closing}> does not close the open element`);
      if (stack.length === 0) closedRoot = true;
    } else {
      if (closedRoot) fail('a second root element');
      const m = name.exec(tag);
      if (!m) fail(`bad tag <${tag.slice(0, 20)}`);
      const selfClosing = tag.endsWith('/');
      let rest = tag.slice(m![0].length, selfClosing ? -1 : undefined);
      const seen = new Set<string>();
      while (rest.trim() !== '') {
        const a = /^\s+([A-Za-z_:][A-Za-z0-9_.:-]*)\s*=\s*("[^"<]*"|'[^'<]*')/.exec(rest);
        if (!a) fail(`bad attribute in <${m![0]}>: ${rest.slice(0, 30)}`);
        if (seen.has(a![1])) fail(`duplicate attribute ${a![1]}`);
        seen.add(a![1]);
        checkText(a![2].slice(1, -1));
        rest = rest.slice(a![0].length);
      }
      if (stack.length === 0) root = m![0];
      elements++;
      if (!selfClosing) stack.push(m![0]);
      else if (stack.length === 0) closedRoot = true;
    }
    k = gt + 1;
  }
  if (stack.length > 0) fail(`unclosed <${stack[stack.length - 1]}>`);
  if (!root) fail('no root element');
  return { root, elements };
}

/** The PNG signature and the IHDR size of a PNG file. */
export function pngInfo(bytes: Uint8Array): { signature: boolean; width: number; height: number; ihdr: boolean } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ihdr = String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR';
  return { signature, ihdr, width: view.getUint32(16, false), height: view.getUint32(20, false) };
}

/** The JSON header of a safetensors file, read independently of the CLI's reader, and where its data starts. */
export function readSafetensorsRaw(bytes: Uint8Array): { header: Record<string, any>; dataStart: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { header, dataStart: 8 + n };
}

/** A .npy file built byte by byte (format 1.0). */
export function npyBytes(descr: string, shape: number[], values: number[], options: { fortran?: boolean } = {}): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const size = Number(descr.slice(2));
  const little = descr[0] !== '>';
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  values.forEach((v, k) => {
    const at = 10 + header.length + k * size;
    if (descr.endsWith('f4')) view.setFloat32(at, v, little);
    else if (descr.endsWith('f8')) view.setFloat64(at, v, little);
    else if (descr.endsWith('i8')) view.setBigInt64(at, BigInt(v), little);
    else if (descr.endsWith('u1')) view.setUint8(at, v);
  });
  return out;
}

/** An IDX file built byte by byte: type 0x08 (u8), big-endian sizes. */
export function idxBytes(dims: number[], values: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + values.length);
  out.set([0, 0, 0x08, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, k) => view.setUint32(4 + 4 * k, d, false));
  out.set(values, 4 + 4 * dims.length);
  return out;
}

