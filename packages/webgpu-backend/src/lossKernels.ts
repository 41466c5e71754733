/// <reference types="@webgpu/types" preserve="true" />
/**
 * The host side of the loss plugin's column steps on WebGPU (shaders/loss.wgsl): one thread per column (sample),
 * the loss's three WGSL bodies and its width d templated in, so one pipeline per (loss WGSL, d, entry point, binding
 * plan), created by {@link LossKernels.prepare} or synchronously on first use and cached by the runtime (keyed by
 * the template values: two losses with the same WGSL share pipelines).
 *
 * Dispatches per call: one per column range where the chunks of all operands agree (one for unsplit matrices),
 * each a grid of at most {@link MAX_GROUPS} workgroups of 64 threads striding over the range's columns; lossValue
 * adds one reduce_finish dispatch that sums the per-workgroup partials into the scalar slot (as sumSquares does).
 */
import { type Loss, PROX_MAX_HALVINGS, PROX_MAX_ITERATIONS, PROX_TOLERANCE } from '@nladmm/core';
import type { KernelHost } from './kernelHost.ts';
import { ShaderCompileError } from './pipelines.ts';
import type { Resource, TrackedBuffer } from './shaders.ts';
import { type Block, type Operand, intervals } from './storage.ts';

/** Threads per workgroup (WG in loss.wgsl). */
const WORKGROUP = 64;
/**
 * Most workgroups of one dispatch (65536 threads; far below maxComputeWorkgroupsPerDimension): wider ranges are
 * covered by the kernels' grid-stride loops.
 */
export const MAX_GROUPS = 1024;

type Entry = 'column_value' | 'column_gradient' | 'column_prox';

function templateValues(loss: Loss, width: number): Record<string, string | number> {
  return {
    LOSS_D: width,
    VALUE: loss.wgsl.value,
    GRADIENT: loss.wgsl.gradient,
    NEWTON_SOLVE: loss.wgsl.newtonSolve,
    MAX_ITERATIONS: PROX_MAX_ITERATIONS,
    MAX_HALVINGS: PROX_MAX_HALVINGS,
  };
}

function resources(out: TrackedBuffer, a: TrackedBuffer, b: TrackedBuffer): Resource[] {
  return [
    { placeholder: 'OUT', buffer: out, access: 'read_write', type: 'f32' },
    { placeholder: 'A', buffer: a, access: 'read', type: 'f32' },
    { placeholder: 'B', buffer: b, access: 'read', type: 'f32' },
  ];
}

export class LossKernels {
  /** (WGSL, width) pairs compiled by prepare. */
  readonly #prepared = new Set<string>();

  constructor(readonly host: KernelHost) {}

  /**
   * Compiles the three entry points for columns of `width` with the binding plans the backend's callers use (all
   * operands apart; the gradient into V), so that no compilation falls inside an iteration. Rejects, naming the loss
   * and quoting the compiler, when the loss's WGSL does not compile.
   */
  async prepare(loss: Loss, width: number): Promise<void> {
    const key = `${width}\u0000${loss.wgsl.value}\u0000${loss.wgsl.gradient}\u0000${loss.wgsl.newtonSolve}`;
    if (this.#prepared.has(key)) return;
    const { runtime } = this.host;
    const probes = [0, 1, 2].map(() => runtime.acquire(16, 'nladmm probe').buffer);
    const [o, a, b] = probes;
    try {
      const plans: [Entry, Resource[]][] = [
        ['column_value', resources(o, a, b)],
        ['column_gradient', resources(o, a, b)],
        ['column_gradient', resources(o, o, b)],
        ['column_prox', resources(o, a, b)],
      ];
      for (const [entryPoint, list] of plans) {
        await runtime.compile({ shader: 'loss', entryPoint, values: templateValues(loss, width), resources: list });
      }
    } catch (err) {
      const detail = err instanceof ShaderCompileError ? err.message : err instanceof Error ? err.message : String(err);
      throw new Error(`loss '${loss.name}': its WGSL (wgsl.value / wgsl.gradient / wgsl.newtonSolve) does not compile for width ${width}: ${detail}`);
    } finally {
      for (const probe of probes) runtime.release(probe);
    }
    this.#prepared.add(key);
  }

  /** SCALARS[slot] ← Σ_c ℓ(v_c; y_c): per-workgroup partials, then reduce_finish (a fixed order: deterministic). */
  value(loss: Loss, v: Block, y: Block, slot: number): void {
    const ranges = v.rows === 0 ? [] : intervals(v.cols, v.cuts, y.cuts);
    const groups = ranges.map(([c0, c1]) => LossKernels.#groups(c1 - c0));
    const count = groups.reduce((s, g) => s + g, 0);
    const partials = this.host.workspace('loss-partials', Math.max(count, 1) * 4);
    let base = 0;
    ranges.forEach(([c0, c1], k) => {
      this.#dispatch('column_value', loss, v.rows, c1 - c0, { buffer: partials, offset: 0, ld: 0 }, v.at(0, c0), y.at(0, c0), base, 0);
      base += groups[k];
    });
    // count = 0 (no columns or no rows) writes 0: the sum over nothing.
    this.host.runtime.dispatch({
      shader: 'reduce_finish',
      values: { IS_MAX: false },
      resources: [
        { placeholder: 'PARTIALS', buffer: partials, access: 'read', type: 'u32' },
        { placeholder: 'SCALARS', buffer: this.host.scalarBuffer(), access: 'read_write', type: 'f32' },
      ],
      params: { count, scalarSlot: slot },
      groups: [1, 1, 1],
      label: `loss value ${loss.name} ${v.rows}×${v.cols}: finish`,
    });
  }

  /** out ← ∇ℓ(V; Y) column by column (out may be V). */
  gradient(loss: Loss, v: Block, y: Block, out: Block): void {
    if (v.rows === 0) return;
    for (const [c0, c1] of intervals(v.cols, v.cuts, y.cuts, out.cuts)) {
      this.#dispatch('column_gradient', loss, v.rows, c1 - c0, out.at(0, c0), v.at(0, c0), y.at(0, c0), 0, 0);
    }
  }

  /** Every column v_c ← argmin ℓ(v; y_c) + β/2 ‖v − t_c‖², warm-started from v_c, to PROX_TOLERANCE.f32. */
  prox(loss: Loss, t: Block, y: Block, beta: number, v: Block): void {
    if (v.rows === 0) return;
    for (const [c0, c1] of intervals(v.cols, t.cuts, y.cuts, v.cuts)) {
      this.#dispatch('column_prox', loss, v.rows, c1 - c0, v.at(0, c0), t.at(0, c0), y.at(0, c0), 0, beta);
    }
  }

  static #groups(cols: number): number {
    return Math.min(Math.ceil(cols / WORKGROUP), MAX_GROUPS);
  }

  #dispatch(entryPoint: Entry, loss: Loss, rows: number, cols: number, out: Operand, a: Operand, b: Operand, partialBase: number, beta: number): void {
    if (cols === 0) return;
    const gx = LossKernels.#groups(cols);
    this.host.runtime.dispatch({
      shader: 'loss',
      entryPoint,
      values: templateValues(loss, rows),
      resources: resources(out.buffer, a.buffer, b.buffer),
      params: {
        cols,
        partialBase,
        offsetOut: out.offset,
        ldOut: out.ld,
        offsetA: a.offset,
        ldA: a.ld,
        offsetB: b.offset,
        ldB: b.ld,
        beta,
        tolerance: PROX_TOLERANCE.f32,
      },
      groups: [gx, 1, 1],
      label: `loss ${entryPoint.slice('column_'.length)} ${loss.name} ${rows}×${cols}`,
    });
  }
}
