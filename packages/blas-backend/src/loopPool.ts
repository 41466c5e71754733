/**
 * Runs the elementwise loops of the typed-array backends on several cores: the calling thread and `threads − 1`
 * worker threads split the columns (samples) of an operation between them, on storage in SharedArrayBuffers. The
 * hand-off is synchronous (Atomics.wait / notify on a shared control word), so the backend's methods stay
 * synchronous like the JavaScript reference's. Each element is computed by the same loop code as on one thread, so
 * the results are the same bits whatever the thread count.
 *
 * The workers run the loops of @nladmm/cpu-backend's elementwise.ts and the activation's σ, σ′ from their source
 * text, so that they need no module loader (they work under Node, tsx, vitest and bundles alike). An activation
 * whose functions do not survive that (a closure over module state, a native function) is detected when first
 * used, by comparing σ and σ′ on a grid, and its loops then run on the calling thread alone.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { Activation, AdamStepOptions } from '@nladmm/core';
import { elementwise, type DenseBlock } from '@nladmm/cpu-backend';

/** Operations with fewer elements than this run on the calling thread (a hand-off costs tens of µs). */
export const PARALLEL_MIN_ELEMENTS = 1 << 15;

const OP = { activate: 1, multiplier: 2, axpby: 3, maxAbs: 4, adam: 5, probe: 6 } as const;
/** Control words: [0] generation, [1] workers still running, [2] unused, [3] workers that have stopped. */
const CONTROL_WORDS = 4;
/** Parameter slots (f64): op, activation, operand descriptors (id, rows, cols, ld) × 4, scalars. */
const PARAMS = 32;
/** The activation probe's grid: σ and σ′ at these points must agree bit for bit with the calling thread's. */
const PROBE_POINTS = [-800, -40, -7.25, -2, -1, -0.5, -1e-3, -1e-300, 0, 1e-300, 1e-3, 0.25, 0.5, 1, 1.5, 3, 6.5, 20, 40, 800];

interface Operand {
  readonly data: Float64Array | Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly ld: number;
}

/** The worker's program: the loops and the hand-off loop, as source text. */
function workerSource(): string {
  const sources = Object.fromEntries(['activate', 'multiplierStep', 'axpby', 'maxAbs', 'adamStep'].map((name) => [name, String(elementwise[name as keyof typeof elementwise])]));
  return `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const sources = ${JSON.stringify(sources)};
const compile = (source) => new Function('return (' + source + ');')();
const loops = { axpby: compile(sources.axpby), maxAbs: compile(sources.maxAbs), adamStep: compile(sources.adamStep) };
const { control, params, results, errors, port, index, parts } = workerData;
// A thread that stops (process.exit in a plugin, an uncaught error) says so, or the caller would wait for it forever.
process.on('exit', () => { Atomics.add(control, 3, 1); Atomics.notify(control, 1); });
const buffers = new Map();
// Per activation: σ, σ′ and their own copies of the activation loops (one σ per call site, as loopsFor does).
const activations = new Map();
const rebuild = (source) => {
  try { return compile(source); } catch {}
  // A method's text (\`sigma(u) { … }\`) is no expression on its own.
  return new Function('return ({' + source + '})')()[source.slice(0, source.indexOf('(')).trim()];
};
const operand = (at) => {
  const id = params[at];
  if (id < 0) return undefined;
  return { data: buffers.get(id), rows: params[at + 1], cols: params[at + 2], ld: params[at + 3] };
};
let seen = 0;
for (;;) {
  Atomics.wait(control, 0, seen);
  seen = Atomics.load(control, 0);
  let message;
  while ((message = receiveMessageOnPort(port))) {
    const m = message.message;
    if (m.type === 'buffer') buffers.set(m.id, m.f32 ? new Float32Array(m.buffer) : new Float64Array(m.buffer));
    else if (m.type === 'forget') buffers.delete(m.id);
    else if (m.type === 'activation') {
      try {
        const act = { sigma: rebuild(m.sigma), dsigma: rebuild(m.dsigma) };
        activations.set(m.id, { act, activate: compile(sources.activate), multiplierStep: compile(sources.multiplierStep) });
      } catch { activations.set(m.id, undefined); }
    }
  }
  try {
    const op = params[0];
    const entry = activations.get(params[1]);
    const act = entry?.act;
    const first = operand(2);
    const cols = first.cols;
    const c0 = Math.floor((cols * index) / parts);
    const c1 = Math.floor((cols * (index + 1)) / parts);
    if (op === ${OP.activate}) entry.activate(act, first, operand(6), c0, c1);
    else if (op === ${OP.multiplier}) entry.multiplierStep(act, first, operand(6), operand(10), params[18], params[19] === 1, operand(14), c0, c1);
    else if (op === ${OP.axpby}) loops.axpby(params[18], first, params[19], operand(6), c0, c1);
    else if (op === ${OP.maxAbs}) results[index] = loops.maxAbs(first, operand(6), params[18], c0, c1);
    else if (op === ${OP.adam}) {
      const options = { learningRate: params[18], beta1: params[19], beta2: params[20], epsilon: params[21], step: params[22] };
      loops.adamStep(first, operand(6), operand(10), operand(14), options, c0, c1);
    } else if (op === ${OP.probe}) {
      const data = first.data;
      for (let i = 0; i < first.cols; i++) {
        data[first.cols * (2 * index) + i] = act ? act.sigma(data[i]) : NaN;
        data[first.cols * (2 * index + 1) + i] = act ? act.dsigma(data[i]) : NaN;
      }
    }
  } catch (err) {
    Atomics.store(errors, 0, 1);
  }
  if (Atomics.sub(control, 1, 1) === 1) Atomics.notify(control, 1);
}
`;
}

export class LoopPool {
  /** Participants: the calling thread and the workers. */
  readonly parts: number;
  readonly #workers: Worker[] = [];
  readonly #ports: MessagePort[] = [];
  readonly #control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  readonly #errors = new Int32Array(new SharedArrayBuffer(4));
  readonly #params = new Float64Array(new SharedArrayBuffer(PARAMS * 8));
  readonly #results: Float64Array;
  readonly #bufferIds = new WeakMap<ArrayBufferLike, number>();
  readonly #activationIds = new Map<Activation, number | undefined>();
  #nextId = 0;
  /** Set when a worker thread has stopped (killed, out of memory): the loops then run on the calling thread. */
  #broken = false;

  constructor(threads: number) {
    this.parts = threads;
    this.#results = new Float64Array(new SharedArrayBuffer(threads * 8));
    const source = workerSource();
    for (let index = 1; index < threads; index++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(source, {
        eval: true,
        workerData: { control: this.#control, params: this.#params, results: this.#results, errors: this.#errors, port: port2, index, parts: threads },
        transferList: [port2],
      });
      worker.unref();
      port1.unref();
      this.#workers.push(worker);
      this.#ports.push(port1);
    }
  }

  /** Storage the workers can see: a typed array over a SharedArrayBuffer. */
  static storage(length: number, f32: boolean): Float64Array | Float32Array {
    return f32 ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float64Array(new SharedArrayBuffer(length * 8));
  }

  /** Whether an operation on `elements` values is worth the hand-off (and `act`, if any, runs in the workers). */
  parallel(elements: number, act?: Activation): boolean {
    if (this.parts < 2 || this.#broken || elements < PARALLEL_MIN_ELEMENTS) return false;
    return act === undefined || this.#activation(act) !== undefined;
  }

  /** How many threads run `act`'s loops: all of them, or 1 when its functions cannot run in a worker. */
  threadsFor(act: Activation): number {
    return this.parts > 1 && !this.#broken && this.#activation(act) !== undefined ? this.parts : 1;
  }

  /** The workers let go of a freed matrix's storage. */
  forget(data: ArrayBufferView): void {
    const id = this.#bufferIds.get(data.buffer);
    if (id === undefined) return;
    this.#bufferIds.delete(data.buffer);
    this.#post({ type: 'forget', id });
  }

  activate(act: Activation, z: Operand, out: Operand): void {
    this.#run(OP.activate, this.#activation(act)!, [z, out], [], (c0, c1) => elementwise.loopsFor(act).activate(act, z, out, c0, c1));
  }

  multiplierStep(act: Activation, s: Operand, v: Operand, lambda: Operand, beta: number, withDerivative: boolean, out: Operand): void {
    this.#run(OP.multiplier, this.#activation(act)!, [s, v, lambda, out], [beta, withDerivative ? 1 : 0], (c0, c1) =>
      elementwise.loopsFor(act).multiplierStep(act, s, v, lambda, beta, withDerivative, out, c0, c1),
    );
  }

  axpby(alpha: number, x: Operand, beta: number, y: Operand): void {
    this.#run(OP.axpby, -1, [x, y], [alpha, beta], (c0, c1) => elementwise.axpby(alpha, x, beta, y, c0, c1));
  }

  maxAbs(a: Operand, b: Operand | undefined, scaleB: number): number {
    const own = { value: 0 };
    this.#run(OP.maxAbs, -1, [a, b], [scaleB], (c0, c1) => (own.value = elementwise.maxAbs(a, b, scaleB, c0, c1)));
    // max is exact in any order; NaN in any part gives NaN.
    let max = own.value;
    for (let p = 1; p < this.parts; p++) {
      const part = this.#results[p];
      if (Number.isNaN(part)) return NaN;
      if (part > max) max = part;
    }
    return max;
  }

  adamStep(g: Operand, m: Operand, v: Operand, w: Operand, options: AdamStepOptions): void {
    const { learningRate, beta1, beta2, epsilon, step } = options;
    this.#run(OP.adam, -1, [g, m, v, w], [learningRate, beta1, beta2, epsilon, step], (c0, c1) => elementwise.adamStep(g, m, v, w, options, c0, c1));
  }

  dispose(): void {
    for (const worker of this.#workers) void worker.terminate();
    for (const port of this.#ports) port.close();
    this.#workers.length = 0;
  }

  /**
   * The workers' id of `act`, registering it (and checking σ, σ′ against the calling thread's on the probe grid)
   * the first time; undefined when the workers cannot run it.
   */
  #activation(act: Activation): number | undefined {
    if (this.#activationIds.has(act)) return this.#activationIds.get(act);
    const id = this.#nextId++;
    this.#post({ type: 'activation', id, sigma: act.sigma.toString(), dsigma: act.dsigma.toString() });
    const points = PROBE_POINTS.length;
    const probe = LoopPool.storage(points * 2 * this.parts, false);
    probe.set(PROBE_POINTS);
    this.#run(OP.probe, id, [{ data: probe, rows: 1, cols: points, ld: points }], [], () => {}, true);
    let agrees = Atomics.load(this.#errors, 0) === 0;
    for (let p = 1; p < this.parts && agrees; p++) {
      PROBE_POINTS.forEach((u, i) => {
        const same = (a: number, b: number) => Object.is(a, b);
        if (!same(probe[points * 2 * p + i], act.sigma(u)) || !same(probe[points * (2 * p + 1) + i], act.dsigma(u))) agrees = false;
      });
    }
    Atomics.store(this.#errors, 0, 0);
    this.#activationIds.set(act, agrees ? id : undefined);
    this.forget(probe);
    return agrees ? id : undefined;
  }

  /** One operation: descriptors into the shared parameters, wake the workers, do part 0 here, wait for the rest. */
  #run(op: number, activation: number, operands: readonly (Operand | undefined)[], scalars: readonly number[], part0: (c0: number, c1: number) => void, probing = false): void {
    const params = this.#params;
    params[0] = op;
    params[1] = activation;
    for (let i = 0; i < 4; i++) {
      const o = operands[i];
      params[2 + 4 * i] = o === undefined ? -1 : this.#bufferId(o.data);
      if (o) [params[3 + 4 * i], params[4 + 4 * i], params[5 + 4 * i]] = [o.rows, o.cols, o.ld];
    }
    scalars.forEach((value, i) => (params[18 + i] = value));
    const control = this.#control;
    Atomics.store(control, 1, this.parts - 1);
    Atomics.add(control, 0, 1);
    Atomics.notify(control, 0);
    let failure: unknown;
    try {
      part0(0, Math.floor(operands[0]!.cols / this.parts));
    } catch (err) {
      failure = err;
    }
    for (let left = Atomics.load(control, 1); left !== 0; left = Atomics.load(control, 1)) {
      // A worker that stopped never counts down; it raises the stopped count instead (and wakes this wait).
      Atomics.wait(control, 1, left, 1000);
      if (Atomics.load(control, 3) > 0) {
        this.#broken = true;
        this.dispose();
        throw new Error('blas backend: an elementwise worker thread stopped; the backend runs its loops on one thread from now on');
      }
    }
    if (failure !== undefined) throw failure;
    if (!probing && Atomics.load(this.#errors, 0) !== 0) {
      Atomics.store(this.#errors, 0, 0);
      throw new Error('blas backend: an elementwise worker thread failed');
    }
  }

  #bufferId(data: ArrayBufferView): number {
    const known = this.#bufferIds.get(data.buffer);
    if (known !== undefined) return known;
    if (!(data.buffer instanceof SharedArrayBuffer)) throw new Error('blas backend: an operand is not in shared memory');
    const id = this.#nextId++;
    this.#bufferIds.set(data.buffer, id);
    this.#post({ type: 'buffer', id, buffer: data.buffer, f32: data instanceof Float32Array });
    return id;
  }

  #post(message: object): void {
    for (const port of this.#ports) port.postMessage(message);
  }
}
