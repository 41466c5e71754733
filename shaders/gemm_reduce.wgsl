// Second stage of a split-K GEMM: C ← α Σ_z P_z + β D over an M × N block, where P_z (z < params.slices) are the
// partial products written by gemm.wgsl in PARTIAL mode, packed M × N each at params.offP + z · M · N.
// The slices are summed pairwise (a balanced tree over z) to keep f32 rounding growth logarithmic in their number.
// SYM ≠ 0: only elements on or below the diagonal (global row ≥ global column) are computed; SYM = 2 also writes
// each one to its mirror position, so the result is exactly symmetric.

struct Params {
  M: u32,
  N: u32,
  slices: u32,
  offP: u32,
  offC: u32,
  ldC: u32,
  offD: u32,
  ldD: u32,
  rowBase: u32,
  colBase: u32,
  offMirror: u32,
  unused0: u32,
  alpha: f32,
  beta: f32,
  unused1: u32,
  unused2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
{{BINDINGS}}

const BETA_ZERO: bool = {{BETA_ZERO}};
const SYM: u32 = {{SYM}}u;
#include "include/block_grid.wgsl"
const MAX_SLICES: u32 = 64u;

fn partialSum(r: u32, c: u32) -> f32 {
  let stride = params.M * params.N;
  let at = params.offP + r * params.N + c;
  // Pairwise: combine neighbours at distance 1, 2, 4, … in a small private array.
  var s: array<f32, MAX_SLICES>;
  let n = params.slices;
  for (var z = 0u; z < n; z++) {
    s[z] = {{P}}[at + z * stride];
  }
  for (var width = 1u; width < n; width = width * 2u) {
    for (var z = 0u; z + width < n; z += 2u * width) {
      s[z] = s[z] + s[z + width];
    }
  }
  return s[0];
}

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var r = gid.y; r < params.M; r += groups.y * WG_Y) {
    for (var c = gid.x; c < params.N; c += groups.x * WG_X) {
      if (SYM != 0u && params.rowBase + r < params.colBase + c) {
        continue;
      }
      var out = params.alpha * partialSum(r, c);
      if (!BETA_ZERO) {
        out = out + params.beta * {{D}}[params.offD + r * params.ldD + c];
      }
      {{C}}[params.offC + r * params.ldC + c] = out;
      if (SYM == 2u && params.rowBase + r != params.colBase + c) {
        {{C}}[params.offMirror + (params.colBase + c) * params.ldC + params.rowBase + r] = out;
      }
    }
  }
}
