// Device-scalar arithmetic on the slots of the scalars buffer: out ← a · s + b (mode 1) or out ← b (mode 0).
struct Params {
  mode: u32,
  outSlot: u32,
  srcSlot: u32,
  unused: u32,
  a: f32,
  b: f32,
  unused1: f32,
  unused2: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
{{BINDINGS}}

@compute @workgroup_size(1)
fn main() {
  if (params.mode == 0u) {
    {{SCALARS}}[params.outSlot] = params.b;
  } else {
    {{SCALARS}}[params.outSlot] = params.a * {{SCALARS}}[params.srcSlot] + params.b;
  }
}
