// Second stage of the reductions of reduce.wgsl: one workgroup reduces params.count partials (f32 sums or,
// for maxabs, the u32 bits of magnitudes) into the device-scalar slot SCALARS[params.scalarSlot].

struct Params {
  count: u32,
  scalarSlot: u32,
  unused0: u32,
  unused1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
{{BINDINGS}}

const OP_MAX: bool = {{IS_MAX}};
const WG: u32 = 256u;

#include "include/workgroup_tree.wgsl"

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(local_invocation_index) local: u32) {
  var sum = 0.0;
  var best = 0u;
  for (var i = local; i < params.count; i += WG) {
    let bits = {{PARTIALS}}[i];
    if (OP_MAX) {
      best = max(best, bits);
    } else {
      sum = sum + bitcast<f32>(bits);
    }
  }
  sums[local] = sum;
  maxima[local] = best;
  combine(local);
  if (local == 0u) {
    {{SCALARS}}[params.scalarSlot] = select(sums[0], bitcast<f32>(maxima[0]), OP_MAX);
  }
}
