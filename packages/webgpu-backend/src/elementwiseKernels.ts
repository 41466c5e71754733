/**
 * The host side of the elementwise kernels (shaders/elementwise.wgsl: copies, fills, axpby, the Adam step, the
 * shifted scale, and the activation's fused steps of Algorithm 1), the reductions into device scalars
 * (shaders/reduce.wgsl, then shaders/reduce_finish.wgsl) and device-scalar arithmetic (shaders/scalar.wgsl).
 *
 * Every op works on blocks (the output first) and is cut at the chunk boundaries of all its operands: one dispatch
 * per column range where the chunks agree, each a grid of at most 1024 × 64 workgroups of 64 × 4 threads striding
 * over the range (shaders/include/block_grid.wgsl).
 */
import type { Activation, AdamStepOptions } from '@nladmm/core';
import type { KernelHost } from './kernelHost.ts';
import { ShaderCompileError } from './pipelines.ts';
import type { Resource, TrackedBuffer } from './shaders.ts';
import { type Block, type Operand, intervals } from './storage.ts';

export type ElementwiseOp = 'fill' | 'copy' | 'axpby' | 'square_axpby' | 'adam_apply' | 'shifted' | 'activate' | 'multiplier' | 'multiplier_d';
export type ReduceOp = 'sumsq' | 'dot' | 'maxabs';

/** The scalars of an elementwise op (uniforms alpha, beta, shift; slot: the device scalar 'shifted' reads). */
export interface ElementwiseScalars {
  alpha?: number;
  beta?: number;
  shift?: number;
  slot?: number;
}

/** Identifies an activation's WGSL (two activations with the same snippets share pipelines). */
function activationValues(act: Activation | undefined): { SIGMA: string; DSIGMA: string } {
  return act ? { SIGMA: act.wgsl.sigma, DSIGMA: act.wgsl.dsigma } : { SIGMA: 'return x;', DSIGMA: 'return 1.0;' };
}

export class ElementwiseKernels {
  /** Activations (σ, σ′ WGSL) compiled by prepareActivation. */
  readonly #prepared = new Set<string>();

  constructor(readonly host: KernelHost) {}

  // ---- the activation's elementwise steps ----

  /**
   * Compiles the fused kernels with the binding plans Algorithm 1 uses (all operands apart; the output aliasing S
   * or Λ; activate out of place and in place), so that no compilation falls inside an iteration. Rejects, naming
   * the activation and quoting the compiler, when its WGSL does not compile.
   */
  async prepareActivation(act: Activation): Promise<void> {
    const key = `${act.wgsl.sigma}\u0000${act.wgsl.dsigma}`;
    if (this.#prepared.has(key)) return;
    const { runtime } = this.host;
    const probes = [0, 1, 2, 3].map(() => runtime.acquire(16, 'nladmm probe').buffer);
    const [o, a, b, c] = probes;
    try {
      const plans: { op: ElementwiseOp; inputs: TrackedBuffer[] }[] = [
        { op: 'activate', inputs: [a] },
        { op: 'activate', inputs: [o] },
      ];
      for (const op of ['multiplier', 'multiplier_d'] as const) {
        for (const inputs of [[a, b, c], [o, b, c], [a, b, o]]) plans.push({ op, inputs });
      }
      for (const { op, inputs } of plans) {
        await runtime.compile({ shader: 'elementwise', values: { OP: op, ...activationValues(act) }, resources: this.#resources(op, o, inputs) });
      }
    } catch (err) {
      const detail = err instanceof ShaderCompileError ? err.message : err instanceof Error ? err.message : String(err);
      throw new Error(`activation '${act.name}': its WGSL (wgsl.sigma / wgsl.dsigma) does not compile: ${detail}`);
    } finally {
      for (const probe of probes) runtime.release(probe);
    }
    this.#prepared.add(key);
  }

  /** O ← σ(Z). */
  activate(act: Activation, z: Block, out: Block): void {
    this.blocks('activate', act, [out, z], {});
  }

  /** O ← Λ + β (σ(S) − V), times σ′(S) `withDerivative` (O may alias S or Λ). */
  multiplierStep(act: Activation, s: Block, v: Block, lambda: Block, beta: number, withDerivative: boolean, out: Block): void {
    this.blocks(withDerivative ? 'multiplier_d' : 'multiplier', act, [out, s, v, lambda], { beta });
  }

  // ---- the other elementwise ops ----

  copy(dst: Block, src: Block): void {
    this.blocks('copy', undefined, [dst, src], {});
  }

  fill(dst: Block, value: number): void {
    this.blocks('fill', undefined, [dst], { alpha: value });
  }

  /** Y ← α X + β Y. */
  axpby(alpha: number, x: Block, beta: number, y: Block): void {
    this.blocks('axpby', undefined, [y, x], { alpha, beta });
  }

  /** O ← c · S + shift · I, c the device scalar in `slot`. */
  shiftedScale(s: Block, slot: number, shift: number, out: Block): void {
    this.blocks('shifted', undefined, [out, s], { shift, slot });
  }

  /** One Adam step on W with gradient G and moments M, V (updated in place). */
  adamStep(g: Block, m: Block, v: Block, w: Block, options: AdamStepOptions): void {
    const { learningRate, beta1, beta2, epsilon, step } = options;
    this.blocks('axpby', undefined, [m, g], { alpha: 1 - beta1, beta: beta1 });
    this.blocks('square_axpby', undefined, [v, g], { alpha: 1 - beta2, beta: beta2 });
    // W ← W − α M / (√(β V) + ε) with α = lr / (1 − β1^t), β = 1 / (1 − β2^t), ε in the shift slot.
    this.blocks('adam_apply', undefined, [w, m, v], { alpha: learningRate / (1 - beta1 ** step), beta: 1 / (1 - beta2 ** step), shift: epsilon });
  }

  /** dst ← src for rows × cols operands that each lie in one buffer (workspaces, blocks of a factor). */
  copyOperands(rows: number, cols: number, dst: Operand, src: Operand): void {
    this.operands('copy', undefined, rows, cols, 0, [dst, src], {});
  }

  /** An elementwise op over same-shaped blocks (the output first), cut at all their chunk boundaries. */
  blocks(op: ElementwiseOp, act: Activation | undefined, blocks: Block[], scalars: ElementwiseScalars): void {
    const { rows, cols } = blocks[0];
    if (rows === 0 || cols === 0) return;
    for (const [c0, c1] of intervals(cols, ...blocks.map((b) => b.cuts))) {
      this.operands(op, act, rows, c1 - c0, c0, blocks.map((b) => b.at(0, c0)), scalars);
    }
  }

  /** An elementwise op over rows × cols operands that each lie in one buffer (the output first). */
  operands(op: ElementwiseOp, act: Activation | undefined, rows: number, cols: number, colBase: number, operands: Operand[], scalars: ElementwiseScalars): void {
    if (rows === 0 || cols === 0) return;
    const offset: [number, number, number, number] = [0, 0, 0, 0];
    const ld: [number, number, number, number] = [0, 0, 0, 0];
    operands.forEach((o, k) => {
      offset[k] = o.offset;
      ld[k] = o.ld;
    });
    const usesActivation = op === 'activate' || op === 'multiplier' || op === 'multiplier_d';
    this.host.runtime.dispatch({
      shader: 'elementwise',
      values: { OP: op, ...activationValues(usesActivation ? act : undefined) },
      resources: this.#resources(op, operands[0].buffer, operands.slice(1).map((o) => o.buffer)),
      params: {
        rows,
        cols,
        colBase,
        scalarSlot: scalars.slot ?? 0,
        offset,
        ld,
        alpha: scalars.alpha ?? 0,
        beta: scalars.beta ?? 0,
        shift: scalars.shift ?? 0,
      },
      groups: [Math.min(Math.ceil(cols / 64), 1024), Math.min(Math.ceil(rows / 4), 64), 1],
      label: `elementwise ${op} ${rows}×${cols}`,
    });
  }

  #resources(op: ElementwiseOp, out: TrackedBuffer, inputs: TrackedBuffer[]): Resource[] {
    const resources: Resource[] = [{ placeholder: 'OUT', buffer: out, access: 'read_write', type: 'f32' }];
    for (let k = 1; k <= 3; k++) resources.push({ placeholder: `IN${k}`, buffer: inputs[k - 1] ?? out, access: 'read', type: 'f32' });
    resources.push({ placeholder: 'SCALARS', buffer: op === 'shifted' ? this.host.scalarBuffer() : out, access: 'read', type: 'f32' });
    return resources;
  }

  // ---- reductions into device scalars ----

  /**
   * SCALARS[slot] ← Σ a² (sumsq), Σ a·b (dot) or max |a + scaleB·b| (maxabs, b optional): per-workgroup partials
   * of every column range, then one reduce_finish over all of them (a fixed order: deterministic).
   */
  reduce(op: ReduceOp, slot: number, a: Block, b: Block | undefined, scaleB: number): void {
    if (a.rows === 0 || a.cols === 0) {
      this.setScalar(slot, 0);
      return;
    }
    const { runtime } = this.host;
    const blocks = b ? [a, b] : [a];
    const pieces = intervals(a.cols, ...blocks.map((x) => x.cuts)).map(([c0, c1]) => {
      const gx = Math.min(Math.ceil((c1 - c0) / 64), 64);
      const gy = Math.min(Math.ceil(a.rows / 4), 16);
      return { c0, c1, gx, gy };
    });
    const count = pieces.reduce((s, p) => s + p.gx * p.gy, 0);
    const partials = this.host.workspace('reduce-partials', count * 4);
    const values = { IS_MAX: op === 'maxabs', HAS_B: b !== undefined, IS_DOT: op === 'dot' };
    let base = 0;
    for (const p of pieces) {
      const opA = a.at(0, p.c0);
      const opB = b ? b.at(0, p.c0) : opA;
      runtime.dispatch({
        shader: 'reduce',
        values,
        resources: [
          { placeholder: 'A', buffer: opA.buffer, access: 'read', type: 'f32' },
          { placeholder: 'B', buffer: opB.buffer, access: 'read', type: 'f32' },
          { placeholder: 'PARTIALS', buffer: partials, access: 'read_write', type: 'u32' },
        ],
        params: { rows: a.rows, cols: p.c1 - p.c0, offsetA: opA.offset, ldA: opA.ld, offsetB: opB.offset, ldB: opB.ld, partialBase: base, scaleB },
        groups: [p.gx, p.gy, 1],
        label: `reduce ${op} ${a.rows}×${p.c1 - p.c0}`,
      });
      base += p.gx * p.gy;
    }
    runtime.dispatch({
      shader: 'reduce_finish',
      values: { IS_MAX: op === 'maxabs' },
      resources: [
        { placeholder: 'PARTIALS', buffer: partials, access: 'read', type: 'u32' },
        { placeholder: 'SCALARS', buffer: this.host.scalarBuffer(), access: 'read_write', type: 'f32' },
      ],
      params: { count, scalarSlot: slot },
      groups: [1, 1, 1],
    });
  }

  // ---- device-scalar arithmetic ----

  /** SCALARS[slot] ← value. */
  setScalar(slot: number, value: number): void {
    this.#scalarKernel(0, slot, slot, 0, value);
  }

  /** SCALARS[target] ← a · SCALARS[source] + b. */
  affineScalar(target: number, source: number, a: number, b: number): void {
    this.#scalarKernel(1, target, source, a, b);
  }

  #scalarKernel(mode: 0 | 1, outSlot: number, srcSlot: number, a: number, b: number): void {
    this.host.runtime.dispatch({
      shader: 'scalar',
      values: {},
      resources: [{ placeholder: 'SCALARS', buffer: this.host.scalarBuffer(), access: 'read_write', type: 'f32' }],
      params: { mode, outSlot, srcSlot, a, b },
      groups: [1, 1, 1],
    });
  }
}
