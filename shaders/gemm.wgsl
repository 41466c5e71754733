// Tiled, register-blocked f32 GEMM, batched over workgroup_id.z:
//   C_z ← α op(A_z) op(B_z) + β D_z            (D is C itself or another matrix; β = 0 never reads D)
//   C_z ← op(A) op(B) over the K-slice z         (partial mode: raw split-K sums, reduced by gemm_reduce.wgsl)
// with op(X) = Xᵀ when TRANS_X. Batch z offsets every operand by params.stride* and takes the inner indices
// [z · kStep, min(K, z · kStep + kLen)): split-K is kStep = kLen = the chunk length with zero operand strides,
// a plain batch is kStep = 0, kLen = K.
//
// A workgroup computes a BM × BN tile of C with (BM/TM) × (BN/TN) threads, each holding a TM × TN block in
// registers as vec4 columns. Tiles of op(A) (BM × BK) and op(B) (BK × BN) are staged through workgroup memory,
// both stored k-major (As[k][m], Bs[k][n]) so that the inner loop reads vec4s; the next tile's global loads are
// issued into registers before the current tile is consumed. A thread owns rows (ty + g·WGY)·4 + 0..3 and
// columns (tx + h·WGX)·4 + 0..3, so neighbouring threads read neighbouring vec4s of the staged tiles.
//
// The mode flags (β = 0, partial, symmetric) are uniforms, not constants, so that they add no pipeline variants.
// Symmetric mode ≠ 0 computes only elements on or below the diagonal of the whole matrix (global row params.rowBase
// + r ≥ global column params.colBase + c); tiles wholly above it exit at once. Mode 2 also writes each computed value
// to its mirror position (offMirror is the whole matrix's origin), so a Gram matrix comes out exactly symmetric.
//
// BINDINGS declares the storage arrays C (read_write) and D, and the loaders loadA4/loadA1,
// loadB4/loadB1 (vec4 at an element index that is a multiple of 4, and a single element).

struct Params {
  M: u32,
  N: u32,
  K: u32,
  kStep: u32,
  kLen: u32,
  offA: u32,
  ldA: u32,
  strideA: u32,
  offB: u32,
  ldB: u32,
  strideB: u32,
  offC: u32,
  ldC: u32,
  strideC: u32,
  offD: u32,
  ldD: u32,
  strideD: u32,
  rowBase: u32,
  colBase: u32,
  offMirror: u32,
  alpha: f32,
  beta: f32,
  // Bit 0: β = 0 (D is not read); bit 1: PARTIAL; bits 2-3: SYM.
  flags: u32,
  unused: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
{{BINDINGS}}

const BM: u32 = {{BM}}u;
const BN: u32 = {{BN}}u;
const BK: u32 = {{BK}}u;
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const TRANS_A: bool = {{TRANS_A}};
const TRANS_B: bool = {{TRANS_B}};
// Whether the loads along op(X)'s contiguous dimension may be vec4s (host-checked alignment and extents).
const VEC_A: bool = {{VEC_A}};
const VEC_B: bool = {{VEC_B}};

const WGX: u32 = BN / TN;
const WGY: u32 = BM / TM;
const WG: u32 = WGX * WGY;
const A_VECS: u32 = BM * BK / 4u;
const B_VECS: u32 = BK * BN / 4u;
const LA: u32 = (A_VECS + WG - 1u) / WG;
const LB: u32 = (B_VECS + WG - 1u) / WG;

var<workgroup> As: array<vec4<f32>, A_VECS>;
var<workgroup> Bs: array<vec4<f32>, B_VECS>;

// The t-th vec4 of the op(A) tile at (m0, k0): 4 consecutive elements along A's contiguous dimension,
// zero outside op(A) (rows ≥ M or inner indices ≥ kEnd).
fn loadTileA(t: u32, base: u32, m0: u32, k0: u32, kEnd: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (TRANS_A) {
    // A is K × M: element (k, m) at base + k·ldA + m, contiguous along m.
    let k = k0 + t / (BM / 4u);
    let m = m0 + (t % (BM / 4u)) * 4u;
    if (k < kEnd) {
      let i = base + k * params.ldA + m;
      if (VEC_A) {
        if (m < params.M) {
          v = loadA4(i);
        }
      } else {
        for (var q = 0u; q < 4u; q++) {
          if (m + q < params.M) {
            v[q] = loadA1(i + q);
          }
        }
      }
    }
  } else {
    // A is M × K: element (m, k) at base + m·ldA + k, contiguous along k.
    let m = m0 + t / (BK / 4u);
    let k = k0 + (t % (BK / 4u)) * 4u;
    if (m < params.M) {
      let i = base + m * params.ldA + k;
      if (VEC_A) {
        if (k < kEnd) {
          v = loadA4(i);
        }
      } else {
        for (var q = 0u; q < 4u; q++) {
          if (k + q < kEnd) {
            v[q] = loadA1(i + q);
          }
        }
      }
    }
  }
  return v;
}

fn storeTileA(t: u32, v: vec4<f32>) {
  if (TRANS_A) {
    As[t] = v;
  } else {
    let mm = t / (BK / 4u);
    let kq = (t % (BK / 4u)) * 4u;
    for (var q = 0u; q < 4u; q++) {
      As[(kq + q) * (BM / 4u) + mm / 4u][mm % 4u] = v[q];
    }
  }
}

// The t-th vec4 of the op(B) tile at (k0, n0).
fn loadTileB(t: u32, base: u32, k0: u32, n0: u32, kEnd: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (TRANS_B) {
    // B is N × K: element (n, k) at base + n·ldB + k, contiguous along k.
    let n = n0 + t / (BK / 4u);
    let k = k0 + (t % (BK / 4u)) * 4u;
    if (n < params.N) {
      let i = base + n * params.ldB + k;
      if (VEC_B) {
        if (k < kEnd) {
          v = loadB4(i);
        }
      } else {
        for (var q = 0u; q < 4u; q++) {
          if (k + q < kEnd) {
            v[q] = loadB1(i + q);
          }
        }
      }
    }
  } else {
    // B is K × N: element (k, n) at base + k·ldB + n, contiguous along n.
    let k = k0 + t / (BN / 4u);
    let n = n0 + (t % (BN / 4u)) * 4u;
    if (k < kEnd) {
      let i = base + k * params.ldB + n;
      if (VEC_B) {
        if (n < params.N) {
          v = loadB4(i);
        }
      } else {
        for (var q = 0u; q < 4u; q++) {
          if (n + q < params.N) {
            v[q] = loadB1(i + q);
          }
        }
      }
    }
  }
  return v;
}

fn storeTileB(t: u32, v: vec4<f32>) {
  if (TRANS_B) {
    let nn = t / (BK / 4u);
    let kq = (t % (BK / 4u)) * 4u;
    for (var q = 0u; q < 4u; q++) {
      Bs[(kq + q) * (BN / 4u) + nn / 4u][nn % 4u] = v[q];
    }
  } else {
    Bs[t] = v;
  }
}

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let betaZero = (params.flags & 1u) != 0u;
  let partial = (params.flags & 2u) != 0u;
  let sym = (params.flags >> 2u) & 3u;
  let z = wid.z;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  if (sym != 0u && params.rowBase + m0 + BM <= params.colBase + n0) {
    return;
  }
  let kBegin = z * params.kStep;
  let kEnd = min(params.K, kBegin + params.kLen);
  let baseA = params.offA + z * params.strideA;
  let baseB = params.offB + z * params.strideB;
  let tx = tid % WGX;
  let ty = tid / WGX;

  var acc: array<vec4<f32>, TM * TN / 4u>;
  for (var i = 0u; i < TM * TN / 4u; i++) {
    acc[i] = vec4<f32>(0.0);
  }
  var nextA: array<vec4<f32>, LA>;
  var nextB: array<vec4<f32>, LB>;
  var tiles = 0u;
  if (kEnd > kBegin) {
    tiles = (kEnd - kBegin + BK - 1u) / BK;
  }
  if (tiles > 0u) {
    for (var l = 0u; l < LA; l++) {
      let t = tid + l * WG;
      if (t < A_VECS) {
        nextA[l] = loadTileA(t, baseA, m0, kBegin, kEnd);
      }
    }
    for (var l = 0u; l < LB; l++) {
      let t = tid + l * WG;
      if (t < B_VECS) {
        nextB[l] = loadTileB(t, baseB, kBegin, n0, kEnd);
      }
    }
  }
  for (var tile = 0u; tile < tiles; tile++) {
    workgroupBarrier();
    for (var l = 0u; l < LA; l++) {
      let t = tid + l * WG;
      if (t < A_VECS) {
        storeTileA(t, nextA[l]);
      }
    }
    for (var l = 0u; l < LB; l++) {
      let t = tid + l * WG;
      if (t < B_VECS) {
        storeTileB(t, nextB[l]);
      }
    }
    workgroupBarrier();
    if (tile + 1u < tiles) {
      let k0 = kBegin + (tile + 1u) * BK;
      for (var l = 0u; l < LA; l++) {
        let t = tid + l * WG;
        if (t < A_VECS) {
          nextA[l] = loadTileA(t, baseA, m0, k0, kEnd);
        }
      }
      for (var l = 0u; l < LB; l++) {
        let t = tid + l * WG;
        if (t < B_VECS) {
          nextB[l] = loadTileB(t, baseB, k0, n0, kEnd);
        }
      }
    }
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<vec4<f32>, TM / 4u>;
      var b: array<vec4<f32>, TN / 4u>;
      for (var g = 0u; g < TM / 4u; g++) {
        a[g] = As[kk * (BM / 4u) + ty + g * WGY];
      }
      for (var h = 0u; h < TN / 4u; h++) {
        b[h] = Bs[kk * (BN / 4u) + tx + h * WGX];
      }
      // acc[i · TN/4 + h] holds row i, columns of b[h]; rows come in groups of 4 (one vec4 of a).
      for (var g = 0u; g < TM / 4u; g++) {
        let av = a[g];
        for (var h = 0u; h < TN / 4u; h++) {
          let i = g * TN + h;
          acc[i] = fma(vec4<f32>(av.x), b[h], acc[i]);
          acc[i + TN / 4u] = fma(vec4<f32>(av.y), b[h], acc[i + TN / 4u]);
          acc[i + TN / 2u] = fma(vec4<f32>(av.z), b[h], acc[i + TN / 2u]);
          acc[i + 3u * (TN / 4u)] = fma(vec4<f32>(av.w), b[h], acc[i + 3u * (TN / 4u)]);
        }
      }
    }
  }

  let baseC = params.offC + z * params.strideC;
  let baseD = params.offD + z * params.strideD;
  for (var i = 0u; i < TM; i++) {
    let r = m0 + (ty + (i / 4u) * WGY) * 4u + i % 4u;
    if (r >= params.M) {
      continue;
    }
    for (var h = 0u; h < TN / 4u; h++) {
      let c0 = n0 + (tx + h * WGX) * 4u;
      let value = acc[i * (TN / 4u) + h];
      for (var q = 0u; q < 4u; q++) {
        let c = c0 + q;
        if (c >= params.N || (sym != 0u && params.rowBase + r < params.colBase + c)) {
          continue;
        }
        if (partial) {
          {{C}}[baseC + r * params.ldC + c] = value[q];
          continue;
        }
        var out = params.alpha * value[q];
        if (!betaZero) {
          out = out + params.beta * {{D}}[baseD + r * params.ldD + c];
        }
        {{C}}[baseC + r * params.ldC + c] = out;
        if (sym == 2u && params.rowBase + r != params.colBase + c) {
          {{C}}[params.offMirror + (params.colBase + c) * params.ldC + params.rowBase + r] = out;
        }
      }
    }
  }
}
