// Diagonal blocks of a blocked Cholesky factorisation, one NB × NB block per workgroup, in workgroup memory.
//
// FACTOR (one workgroup): factors the block at (k0, k0) of the order-n matrix A in place (L_kk, lower; the block's
// strict upper triangle is zeroed) and writes L_kk⁻¹ to INV at params.offInv (NB × NB, row-major, zeros above the
// diagonal). The first pivot that is not > 0 (NaN included) is recorded in the status words
// STATUS[0..4] = (1, global pivot index, pivot bits, n) unless a failure is already recorded; the host turns it
// into a NotPositiveDefiniteError at the next sync.
// Otherwise (batched, one workgroup per block z = workgroup_id.x): reads the factored block z of A and writes its
// inverse to INV at params.offInv + z · NB · NB (the triangular solves use these).
//
// Both phases need one barrier per column: the factorisation updates the trailing triangle with the unscaled
// column j (L[i][c] −= L[i][j] L[c][j] / p_j) and scales the columns at the end; the inversion (L X = I, by rows)
// subtracts row p of the unscaled X from the rows below it (X[i][c] −= L[i][p] / d_p · X[p][c]) and scales the rows
// at the end. Threads cover the trailing triangle as a 16 × 16 grid.

struct Params {
  n: u32,
  k0: u32,
  offA: u32,
  ldA: u32,
  offInv: u32,
  unused0: u32,
  unused1: u32,
  unused2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
{{BINDINGS}}

const NB: u32 = {{NB}}u;
const FACTOR: bool = {{FACTOR}};
const WG: u32 = 256u;
const GX: u32 = 16u;
const GY: u32 = 16u;
const S: u32 = NB + 1u;

var<workgroup> L: array<f32, NB * S>;
var<workgroup> X: array<f32, NB * S>;
var<workgroup> D: array<f32, NB>;

fn badPivot(p: f32) -> bool {
  let bits = bitcast<u32>(p);
  // NaN, −0, +0 or negative (sign bit set), tested on the bits.
  return (bits & 0x7fffffffu) > 0x7f800000u || (bits >> 31u) == 1u || bits == 0u;
}

fn recordFailure(index: u32, pivot: f32) {
  if ({{STATUS}}[0] == 0u) {
    {{STATUS}}[0] = 1u;
    {{STATUS}}[1] = index;
    {{STATUS}}[2] = bitcast<u32>(pivot);
    {{STATUS}}[3] = params.n;
  }
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  var k0 = params.k0;
  var offInv = params.offInv;
  if (!FACTOR) {
    k0 = wid.x * NB;
    offInv = offInv + wid.x * NB * NB;
  }
  let nb = min(NB, params.n - k0);
  let origin = params.offA + k0 * params.ldA + k0;
  let tx = tid % GX;
  let ty = tid / GX;

  for (var e = tid; e < NB * NB; e += WG) {
    let i = e / NB;
    let j = e % NB;
    var v = 0.0;
    if (i < nb && j <= i) {
      v = {{A}}[origin + i * params.ldA + j];
    }
    L[i * S + j] = v;
    X[i * S + j] = select(0.0, 1.0, i == j);
  }
  workgroupBarrier();

  if (FACTOR) {
    var failed = false;
    for (var j = 0u; j < nb; j++) {
      let pivot = L[j * S + j];
      let r = 1.0 / pivot;
      if (tid == 0u) {
        if (badPivot(pivot) && !failed) {
          recordFailure(k0 + j, pivot);
          failed = true;
        }
        D[j] = sqrt(pivot);
      }
      // L[i][c] −= L[i][j] L[c][j] / p_j for j < c ≤ i: reads column j, writes columns > j.
      for (var i = j + 1u + ty; i < nb; i += GY) {
        let lij = L[i * S + j] * r;
        for (var c = j + 1u + tx; c <= i; c += GX) {
          L[i * S + c] = L[i * S + c] - lij * L[c * S + j];
        }
      }
      workgroupBarrier();
    }
    // Scale the columns: L[j][j] = d_j, L[i][j] /= d_j.
    for (var e = tid; e < nb * nb; e += WG) {
      let i = e / nb;
      let j = e % nb;
      if (j < i) {
        L[i * S + j] = L[i * S + j] / D[j];
      } else if (j == i) {
        L[i * S + j] = D[j];
      }
    }
    workgroupBarrier();
    for (var e = tid; e < nb * nb; e += WG) {
      let i = e / nb;
      let j = e % nb;
      {{A}}[origin + i * params.ldA + j] = select(0.0, L[i * S + j], j <= i);
    }
  } else {
    for (var j = tid; j < nb; j += WG) {
      D[j] = L[j * S + j];
    }
    workgroupBarrier();
  }

  // X = L⁻¹: X starts as I; step p subtracts L[i][p] / d_p times row p (unscaled) from every row i > p.
  for (var p = 0u; p < nb; p++) {
    let dp = D[p];
    for (var i = p + 1u + ty; i < nb; i += GY) {
      let lip = L[i * S + p] / dp;
      for (var c = tx; c <= p; c += GX) {
        X[i * S + c] = X[i * S + c] - lip * X[p * S + c];
      }
    }
    workgroupBarrier();
  }
  for (var e = tid; e < NB * NB; e += WG) {
    let i = e / NB;
    let j = e % NB;
    var v = 0.0;
    if (i < nb && j <= i) {
      v = X[i * S + j] / D[i];
    }
    {{INV}}[offInv + e] = v;
  }
}
