// The loss plugin's column steps (packages/core/src/loss.ts), one thread per column (sample) of a d × cols block
// (one column chunk of each operand), d = LOSS_D the loss's width. VALUE, GRADIENT and NEWTON_SOLVE are the loss's
// WGSL bodies (Loss.wgsl); every column is gathered into private `Column` arrays for them and scattered back.
// Operands: element (r, c) of OUT, A and B is at params.offset* + r · params.ld* + c of the arrays the templating
// binds to them (an OUT that aliases A is one read_write binding):
//
//   column_value     OUT[partialBase + workgroup] ← Σ over the workgroup's columns of ℓ(a_c; b_c)
//                    (A = V, B = Y; OUT is the f32 view of the u32 partials reduce_finish.wgsl sums into a scalar)
//   column_gradient  out_c ← ∇ℓ(a_c; b_c)              (A = V, B = Y, OUT = out, which may alias V)
//   column_prox      out_c ← argmin_v ℓ(v; b_c) + β/2 ‖v − a_c‖², from out_c's current value
//                    (A = T, B = Y, OUT = V): the Newton iteration of core's lossProx.ts (proxColumn)
//
// Columns are spread over the grid with a grid-stride loop, so that a bounded grid covers any cols; a thread's
// columns, and so every partial sum, depend only on cols and the grid (deterministic).

struct Params {
  cols: u32,
  partialBase: u32,
  offsetOut: u32,
  ldOut: u32,
  offsetA: u32,
  ldA: u32,
  offsetB: u32,
  ldB: u32,
  beta: f32,
  // Stopping tolerance of the prox, relative to 1 + β‖t‖_∞ (PROX_TOLERANCE.f32).
  tolerance: f32,
  unused0: u32,
  unused1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
{{BINDINGS}}

const LOSS_D: u32 = {{LOSS_D}}u;
alias Column = array<f32, LOSS_D>;
const MAX_ITERATIONS: u32 = {{MAX_ITERATIONS}}u;
const MAX_HALVINGS: u32 = {{MAX_HALVINGS}}u;
// The f32 machine epsilon 2⁻²³.
const EPSILON: f32 = 1.1920929e-7;
const WG: u32 = 64u;

fn loss_value(v: ptr<function, Column>, y: ptr<function, Column>) -> f32 {
{{VALUE}}
}

fn loss_gradient(v: ptr<function, Column>, y: ptr<function, Column>, g: ptr<function, Column>) {
{{GRADIENT}}
}

fn loss_newton_solve(v: ptr<function, Column>, y: ptr<function, Column>, beta: f32, r: ptr<function, Column>, s: ptr<function, Column>) {
{{NEWTON_SOLVE}}
}

fn load_a(c: u32, col: ptr<function, Column>) {
  for (var i = 0u; i < LOSS_D; i++) {
    (*col)[i] = {{A}}[params.offsetA + i * params.ldA + c];
  }
}

fn load_b(c: u32, col: ptr<function, Column>) {
  for (var i = 0u; i < LOSS_D; i++) {
    (*col)[i] = {{B}}[params.offsetB + i * params.ldB + c];
  }
}

fn load_out(c: u32, col: ptr<function, Column>) {
  for (var i = 0u; i < LOSS_D; i++) {
    (*col)[i] = {{OUT}}[params.offsetOut + i * params.ldOut + c];
  }
}

fn store_out(c: u32, col: ptr<function, Column>) {
  for (var i = 0u; i < LOSS_D; i++) {
    {{OUT}}[params.offsetOut + i * params.ldOut + c] = (*col)[i];
  }
}

// ---- value: per-column ℓ, summed per thread, then over the workgroup (a fixed tree) ----

var<workgroup> sums: array<f32, WG>;

@compute @workgroup_size(WG, 1, 1)
fn column_value(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  var v: Column;
  var y: Column;
  var sum = 0.0;
  for (var c = gid.x; c < params.cols; c += groups.x * WG) {
    load_a(c, &v);
    load_b(c, &y);
    sum += loss_value(&v, &y);
  }
  sums[local] = sum;
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (local < stride) {
      sums[local] = sums[local] + sums[local + stride];
    }
  }
  if (local == 0u) {
    {{OUT}}[params.partialBase + wid.x] = sums[0];
  }
}

// ---- gradient: out_c ← ∇ℓ(v_c; y_c) (v_c is read whole before out_c is written, so out may be V) ----

@compute @workgroup_size(WG, 1, 1)
fn column_gradient(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  var v: Column;
  var y: Column;
  var g: Column;
  for (var c = gid.x; c < params.cols; c += groups.x * WG) {
    load_a(c, &v);
    load_b(c, &y);
    loss_gradient(&v, &y, &g);
    store_out(c, &g);
  }
}

// ---- prox: Newton on F(v) = ℓ(v; y) + β/2 ‖v − t‖² with Armijo backtracking (lossProx.ts) ----

fn t_at(c: u32, i: u32) -> f32 {
  return {{A}}[params.offsetA + i * params.ldA + c];
}

// F(v) for column c (t read from A).
fn objective(c: u32, v: ptr<function, Column>, y: ptr<function, Column>) -> f32 {
  var sq = 0.0;
  for (var i = 0u; i < LOSS_D; i++) {
    let e = (*v)[i] - t_at(c, i);
    sq += e * e;
  }
  return loss_value(v, y) + 0.5 * params.beta * sq;
}

@compute @workgroup_size(WG, 1, 1)
fn column_prox(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let beta = params.beta;
  // v: the iterate; g: ∇F(v), then the trial point of the line search (∇F is recomputed after every step);
  // s: the Newton step. t is read from A where needed (one private array less).
  var v: Column;
  var y: Column;
  var g: Column;
  var s: Column;
  for (var c = gid.x; c < params.cols; c += groups.x * WG) {
    load_out(c, &v);
    load_b(c, &y);
    var tMax = 0.0;
    for (var i = 0u; i < LOSS_D; i++) {
      tMax = max(tMax, abs(t_at(c, i)));
    }
    let threshold = params.tolerance * (1.0 + beta * tMax);
    var f = objective(c, &v, &y);
    for (var iteration = 0u; iteration <= MAX_ITERATIONS; iteration++) {
      loss_gradient(&v, &y, &g);
      var gMax = 0.0;
      var vMax = 0.0;
      for (var i = 0u; i < LOSS_D; i++) {
        g[i] += beta * (v[i] - t_at(c, i));
        gMax = max(gMax, abs(g[i]));
        vMax = max(vMax, abs(v[i]));
      }
      if (gMax <= threshold || iteration == MAX_ITERATIONS) {
        break;
      }
      loss_newton_solve(&v, &y, beta, &g, &s);
      var slope = 0.0;
      for (var i = 0u; i < LOSS_D; i++) {
        slope += g[i] * s[i];
      }
      // Armijo on F along −s: F(v − αs) ≤ F(v) − α/4 ⟨g, s⟩ + allowance. The allowance covers the rounding of F in
      // f32 (sums of LOSS_D terms of size up to |F| and, inside ℓ, of the logits), so that a step whose decrease is
      // below what f32 can resolve is not refused forever (lossProx.ts allows 8 ε (1 + |F|) in f64).
      let allowance = 4.0 * f32(LOSS_D + 2u) * EPSILON * (1.0 + abs(f) + vMax);
      var alpha = 1.0;
      var accepted = false;
      for (var halving = 0u; halving <= MAX_HALVINGS; halving++) {
        for (var i = 0u; i < LOSS_D; i++) {
          g[i] = v[i] - alpha * s[i];
        }
        let fTrial = objective(c, &g, &y);
        if (fTrial <= f - 0.25 * alpha * slope + allowance) {
          v = g;
          f = fTrial;
          accepted = true;
          break;
        }
        alpha = 0.5 * alpha;
      }
      if (!accepted) {
        break;
      }
    }
    store_out(c, &v);
  }
}
