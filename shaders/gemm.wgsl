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
// issued into registers before the current tile is consumed. With STAGES = 2 the staged tiles are double-buffered:
// tile t is read from stage t % 2 while tile t + 1 is written into the other, one barrier per tile instead of two. A thread owns rows (ty + g·WGY)·4 + 0..3 and
// columns (tx + h·WGX)·4 + 0..3, so neighbouring threads read neighbouring vec4s of the staged tiles.
//
// The mode flags (β = 0, partial, symmetric) are uniforms, not constants, so that they add no pipeline variants.
// Symmetric mode ≠ 0 computes only elements on or below the diagonal of the whole matrix (global row params.rowBase
// + r ≥ global column params.colBase + c); tiles wholly above it exit at once. Mode 2 also writes each computed value
// to its mirror position (offMirror is the whole matrix's origin), so a Gram matrix comes out exactly symmetric.
//
// BINDINGS declares the storage arrays and their accessors: loadA4/loadA1, loadB4/loadB1, loadD4/loadD1 and
// storeC4/storeC1 (a vec4 at an element index that is a multiple of 4, and a single element).

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
const STAGES: u32 = {{STAGES}}u;
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const TRANS_A: bool = {{TRANS_A}};
const TRANS_B: bool = {{TRANS_B}};
// Whether the loads along op(X)'s contiguous dimension may be vec4s (host-checked alignment and extents).
const VEC_A: bool = {{VEC_A}};
const VEC_B: bool = {{VEC_B}};
// Whether C (and D) may be written (read) as vec4s along rows: host-checked alignment, N a multiple of 4, SYM = 0.
const VEC_C: bool = {{VEC_C}};

const WGX: u32 = BN / TN;
const WGY: u32 = BM / TM;
const WG: u32 = WGX * WGY;
const A_VECS: u32 = BM * BK / 4u;
const B_VECS: u32 = BK * BN / 4u;

var<workgroup> As: array<vec4<f32>, A_VECS * STAGES>;
var<workgroup> Bs: array<vec4<f32>, B_VECS * STAGES>;

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

fn storeTileA(t: u32, v: vec4<f32>, stage: u32) {
  let base = stage * A_VECS;
  if (TRANS_A) {
    As[base + t] = v;
  } else {
    let mm = t / (BK / 4u);
    let kq = (t % (BK / 4u)) * 4u;
    for (var q = 0u; q < 4u; q++) {
      As[base + (kq + q) * (BM / 4u) + mm / 4u][mm % 4u] = v[q];
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

fn storeTileB(t: u32, v: vec4<f32>, stage: u32) {
  let base = stage * B_VECS;
  if (TRANS_B) {
    let nn = t / (BK / 4u);
    let kq = (t % (BK / 4u)) * 4u;
    for (var q = 0u; q < 4u; q++) {
      Bs[base + (kq + q) * (BN / 4u) + nn / 4u][nn % 4u] = v[q];
    }
  } else {
    Bs[base + t] = v;
  }
}

// One output element of row r, column c (skipped outside C or above the diagonal in symmetric mode).
fn writeOne(r: u32, c: u32, v: f32, baseC: u32, baseD: u32, sym: u32, partial: bool, betaZero: bool) {
  if (c >= params.N || (sym != 0u && params.rowBase + r < params.colBase + c)) {
    return;
  }
  if (partial) {
    storeC1(baseC + r * params.ldC + c, v);
    return;
  }
  var out = params.alpha * v;
  if (!betaZero) {
    out = out + params.beta * loadD1(baseD + r * params.ldD + c);
  }
  storeC1(baseC + r * params.ldC + c, out);
  if (sym == 2u && params.rowBase + r != params.colBase + c) {
    storeC1(params.offMirror + (params.colBase + c) * params.ldC + params.rowBase + r, out);
  }
}

// Columns c0 + 0..3 of row r (r < M checked by the caller).
fn writeRow4(r: u32, c0: u32, v: vec4<f32>, baseC: u32, baseD: u32, sym: u32, partial: bool, betaZero: bool) {
  if (VEC_C) {
    // With N a multiple of 4, the four columns lie inside C or outside it together.
    if (c0 >= params.N) {
      return;
    }
    if (partial) {
      storeC4(baseC + r * params.ldC + c0, v);
      return;
    }
    var out = params.alpha * v;
    if (!betaZero) {
      out = out + params.beta * loadD4(baseD + r * params.ldD + c0);
    }
    storeC4(baseC + r * params.ldC + c0, out);
    return;
  }
  writeOne(r, c0, v.x, baseC, baseD, sym, partial, betaZero);
  writeOne(r, c0 + 1u, v.y, baseC, baseD, sym, partial, betaZero);
  writeOne(r, c0 + 2u, v.z, baseC, baseD, sym, partial, betaZero);
  writeOne(r, c0 + 3u, v.w, baseC, baseD, sym, partial, betaZero);
}

// The register-block code below (the ACC_DECL, NEXT_DECL, LOAD_NEXT, STORE_NEXT, INNER, EPILOGUE snippets) is generated fully unrolled by gemm.ts for the tile config:
// accumulators acc_<row·TN/4 + h> (vec4 of row `row`, columns of the h-th vec4 block), staging registers
// nextA_<l>/nextB_<l>, and operand registers a_<g>/b_<h>, all named scalars of the function, never arrays indexed
// at run time (which drivers may keep in local memory).
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

{{ACC_DECL}}
{{NEXT_DECL}}
  var tiles = 0u;
  if (kEnd > kBegin) {
    tiles = (kEnd - kBegin + BK - 1u) / BK;
  }
  if (tiles > 0u) {
    let k0 = kBegin;
{{LOAD_NEXT}}
  }
  if (STAGES == 2u) {
    if (tiles > 0u) {
      let stage = 0u;
{{STORE_NEXT}}
    }
    workgroupBarrier();
  }
  for (var tile = 0u; tile < tiles; tile++) {
    var stage = 0u;
    if (STAGES == 1u) {
      workgroupBarrier();
{{STORE_NEXT}}
      workgroupBarrier();
    } else {
      stage = tile % 2u;
    }
    if (tile + 1u < tiles) {
      let k0 = kBegin + (tile + 1u) * BK;
{{LOAD_NEXT}}
    }
    // The stage's tiles start at element stage · A_VECS of As and stage · B_VECS of Bs.
    let tileA = stage * A_VECS;
    let tileB = stage * B_VECS;
    for (var kk = 0u; kk < BK; kk++) {
      let rowA = tileA + kk * (BM / 4u) + ty;
      let rowB = tileB + kk * (BN / 4u) + tx;
{{INNER}}
    }
    if (STAGES == 2u) {
      if (tile + 1u < tiles) {
        let stage = 1u - stage;
{{STORE_NEXT}}
      }
      workgroupBarrier();
    }
  }

  let baseC = params.offC + z * params.strideC;
  let baseD = params.offD + z * params.strideD;
{{EPILOGUE}}
}
