// The workgroup stage of the reductions into a device scalar (reduce.wgsl, reduce_finish.wgsl): every thread puts
// its value into sums[local] (a sum) or maxima[local] (the u32 bits of a magnitude), then combine(local) reduces
// them by a fixed tree, so that the result, in slot 0 for local index 0, does not depend on scheduling. The
// includer defines WG (threads per workgroup, a power of two) and OP_MAX (maxima instead of sums).
var<workgroup> sums: array<f32, WG>;
var<workgroup> maxima: array<u32, WG>;

// Tree reduction of the workgroup's values; the result is in slot 0 for local index 0.
fn combine(local: u32) {
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (local < stride) {
      if (OP_MAX) {
        maxima[local] = max(maxima[local], maxima[local + stride]);
      } else {
        sums[local] = sums[local] + sums[local + stride];
      }
    }
  }
}
