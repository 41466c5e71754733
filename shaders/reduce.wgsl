// First stage of the reductions into a device scalar: `main` reduces one rows × cols block (a column chunk)
// per workgroup into PARTIALS[params.partialBase + workgroup index]; reduce_finish.wgsl reduces them
// into the scalar slot. The op is sumsq (Σ a²), dot (Σ a b) or maxabs (max |a + s·b|, b optional).
//
// Sums are stored as f32 bits; maxabs works on the bits of |v| as u32: for non-negative IEEE floats the
// unsigned order of the bits is the numeric order, and every NaN (sign cleared) sorts above +Infinity, so
// a NaN anywhere is the maximum without relying on max() or comparisons on NaN (unspecified in WGSL).

struct Params {
  rows: u32,
  cols: u32,
  offsetA: u32,
  ldA: u32,
  offsetB: u32,
  ldB: u32,
  partialBase: u32,
  scaleB: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
{{BINDINGS}}

const OP_MAX: bool = {{IS_MAX}};
const HAS_B: bool = {{HAS_B}};
const IS_DOT: bool = {{IS_DOT}};
#include "include/block_grid.wgsl"
const WG: u32 = WG_X * WG_Y;
const NAN_BITS: u32 = 0x7fc00000u;

fn isNan(bits: u32) -> bool {
  return (bits & 0x7fffffffu) > 0x7f800000u;
}

// The bits of |a + s·b| (or |a|), NaN when a or b is NaN.
fn magnitudeBits(a: f32, b: f32) -> u32 {
  let aBits = bitcast<u32>(a);
  if (!HAS_B) {
    return select(aBits & 0x7fffffffu, NAN_BITS, isNan(aBits));
  }
  let bBits = bitcast<u32>(b);
  let vBits = bitcast<u32>(a + params.scaleB * b) & 0x7fffffffu;
  return select(vBits, NAN_BITS, isNan(aBits) || isNan(bBits) || isNan(vBits));
}

fn term(a: f32, b: f32) -> f32 {
  if (IS_DOT) {
    return a * b;
  }
  return a * a;
}

#include "include/workgroup_tree.wgsl"

@compute @workgroup_size(WG_X, WG_Y, 1)
fn main(
  @builtin(global_invocation_id) gid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  var sum = 0.0;
  var best = 0u;
  for (var r = gid.y; r < params.rows; r += groups.y * WG_Y) {
    for (var c = gid.x; c < params.cols; c += groups.x * WG_X) {
      let a = {{A}}[params.offsetA + r * params.ldA + c];
      var b = 0.0;
      if (HAS_B) {
        b = {{B}}[params.offsetB + r * params.ldB + c];
      }
      if (OP_MAX) {
        best = max(best, magnitudeBits(a, b));
      } else {
        sum = sum + term(a, b);
      }
    }
  }
  sums[local] = sum;
  maxima[local] = best;
  combine(local);
  if (local == 0u) {
    let index = params.partialBase + wid.y * groups.x + wid.x;
    {{PARTIALS}}[index] = select(bitcast<u32>(sums[0]), maxima[0], OP_MAX);
  }
}
