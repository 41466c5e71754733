// The workgroup of the kernels over a rows × cols block (elementwise.wgsl, reduce.wgsl, gemm_reduce.wgsl): 64 × 4
// threads, columns along x (coalesced), rows along y; grid-stride loops cover any size with a bounded grid, which
// the host sizes as ⌈cols / 64⌉ × ⌈rows / 4⌉ workgroups, capped.
const WG_X: u32 = 64u;
const WG_Y: u32 = 4u;
