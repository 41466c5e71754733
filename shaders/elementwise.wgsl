// Fused elementwise kernels of the WebGPU backend, over one rows × cols block (one column chunk of each
// operand). Operand k (0 = the output, 1..3 = inputs) holds element (r, c) at params.offset[k] + r * params.ld[k] + c
// of the buffer the templating binds to it: OUT, IN1, IN2, IN3 name the storage arrays
// declared by BINDINGS; an output that aliases an input is one read_write binding. OP selects the op;
// SIGMA and DSIGMA are the activation's σ and σ′ bodies (identity when the op has none).

struct Params {
  rows: u32,
  cols: u32,
  // Global column of this block's first column (shiftedScale puts its shift where row == column).
  colBase: u32,
  // Slot of the device scalar shiftedScale multiplies by.
  scalarSlot: u32,
  offset: vec4<u32>,
  ld: vec4<u32>,
  alpha: f32,
  beta: f32,
  shift: f32,
  unused: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
{{BINDINGS}}

fn sigma(x: f32) -> f32 {
  {{SIGMA}}
}

fn dsigma(x: f32) -> f32 {
  {{DSIGMA}}
}

fn at(k: u32, r: u32, c: u32) -> u32 {
  return params.offset[k] + r * params.ld[k] + c;
}

fn op_fill(r: u32, c: u32) {
  {{OUT}}[at(0u, r, c)] = params.alpha;
}

fn op_copy(r: u32, c: u32) {
  {{OUT}}[at(0u, r, c)] = {{IN1}}[at(1u, r, c)];
}

// Y ← α X + β Y: Y (the output) is read even when β = 0, so that a NaN in Y propagates.
fn op_axpby(r: u32, c: u32) {
  let i = at(0u, r, c);
  {{OUT}}[i] = params.alpha * {{IN1}}[at(1u, r, c)] + params.beta * {{OUT}}[i];
}

// Y ← α X² + β Y (the second moment of an Adam step).
fn op_square_axpby(r: u32, c: u32) {
  let i = at(0u, r, c);
  let x = {{IN1}}[at(1u, r, c)];
  {{OUT}}[i] = params.alpha * x * x + params.beta * {{OUT}}[i];
}

// W ← W − α M / (√(β V) + ε) with M = IN1, V = IN2 and ε = shift (the update of an Adam step).
fn op_adam_apply(r: u32, c: u32) {
  let i = at(0u, r, c);
  let m = {{IN1}}[at(1u, r, c)];
  let v = {{IN2}}[at(2u, r, c)];
  {{OUT}}[i] = {{OUT}}[i] - params.alpha * m / (sqrt(params.beta * v) + params.shift);
}

// out ← c · S + shift · I, with c read from its device-scalar slot.
fn op_shifted(r: u32, c: u32) {
  let scale = {{SCALARS}}[params.scalarSlot];
  let diagonal = select(0.0, params.shift, r == params.colBase + c);
  {{OUT}}[at(0u, r, c)] = scale * {{IN1}}[at(1u, r, c)] + diagonal;
}

fn op_activate(r: u32, c: u32) {
  {{OUT}}[at(0u, r, c)] = sigma({{IN1}}[at(1u, r, c)]);
}

// out ← Λ + β (σ(S) − V), with S = IN1, V = IN2, Λ = IN3 (all read before the write: out may alias any).
fn op_multiplier(r: u32, c: u32) {
  let s = {{IN1}}[at(1u, r, c)];
  let v = {{IN2}}[at(2u, r, c)];
  let lambda = {{IN3}}[at(3u, r, c)];
  {{OUT}}[at(0u, r, c)] = lambda + params.beta * (sigma(s) - v);
}

// out ← (Λ + β (σ(S) − V)) ⊙ σ′(S).
fn op_multiplier_d(r: u32, c: u32) {
  let s = {{IN1}}[at(1u, r, c)];
  let v = {{IN2}}[at(2u, r, c)];
  let lambda = {{IN3}}[at(3u, r, c)];
  {{OUT}}[at(0u, r, c)] = (lambda + params.beta * (sigma(s) - v)) * dsigma(s);
}

#include "include/block_grid.wgsl"

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var r = gid.y; r < params.rows; r += groups.y * WG_Y) {
    for (var c = gid.x; c < params.cols; c += groups.x * WG_X) {
      op_{{OP}}(r, c);
    }
  }
}
