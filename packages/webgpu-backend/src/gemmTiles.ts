/**
 * The compile-time side of the GEMM kernel (shaders/gemm.wgsl): its workgroup tile configurations and the
 * register-block code generated for each (fully unrolled snippets templated into the shader).
 */

/**
 * A workgroup tile: BM × BN outputs per workgroup, TM × TN per thread, BK inner indices per staged step, staged
 * through one or two (double-buffered) sets of workgroup tiles.
 */
export interface TileConfig {
  readonly name: string;
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
  readonly TM: number;
  readonly TN: number;
  /** Workgroup tile buffers: 1 (two barriers per K step) or 2 (double-buffered, one barrier). Default 1. */
  readonly stages?: 1 | 2;
  /** Relative FLOP rate of a full tile (register blocking and reuse), for choosing among configs. */
  readonly efficiency: number;
}

export const TILE_CONFIGS: readonly TileConfig[] = [
  { name: '128x128', BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, efficiency: 1 },
  { name: '64x128', BM: 64, BN: 128, BK: 16, TM: 4, TN: 8, efficiency: 0.85 },
  { name: '128x64', BM: 128, BN: 64, BK: 16, TM: 8, TN: 4, efficiency: 0.85 },
  { name: '64x64', BM: 64, BN: 64, BK: 16, TM: 4, TN: 4, efficiency: 0.7 },
  { name: '32x128', BM: 32, BN: 128, BK: 16, TM: 4, TN: 4, efficiency: 0.55 },
  { name: '128x32', BM: 128, BN: 32, BK: 16, TM: 4, TN: 4, efficiency: 0.55 },
  { name: '32x32', BM: 32, BN: 32, BK: 16, TM: 4, TN: 4, efficiency: 0.4 },
];

/**
 * A tile config by name: one of {@link TILE_CONFIGS}, or a spec `BMxBN-kBK-tTMxTN[-s2]` (e.g. `128x128-k32-t8x8`,
 * `128x128-k16-t8x8-s2` double-buffered) for benchmarks that try configs outside the table. A thread's block is
 * TM × TN (multiples of 4), the workgroup has (BM/TM)·(BN/TN) threads and stages (BM + BN)·BK floats of workgroup
 * memory, twice with -s2.
 */
export function tileConfig(name: string, limits: { maxInvocations: number; maxWorkgroupBytes: number }): TileConfig {
  const named = TILE_CONFIGS.find((c) => c.name === name);
  if (named) return named;
  const match = /^(\d+)x(\d+)-k(\d+)-t(\d+)x(\d+)(-s2)?$/.exec(name);
  if (!match) {
    throw new RangeError(`webgpu backend: unknown GEMM config '${name}' (known: ${TILE_CONFIGS.map((c) => c.name).join(', ')}, or BMxBN-kBK-tTMxTN[-s2])`);
  }
  const [BM, BN, BK, TM, TN] = match.slice(1, 6).map(Number);
  const stages = match[6] ? 2 : 1;
  const problems: string[] = [];
  if (TM === 0 || TN === 0 || TM % 4 !== 0 || TN % 4 !== 0) problems.push('TM and TN must be positive multiples of 4');
  else if (BM % TM !== 0 || BN % TN !== 0) problems.push('BM and BN must be multiples of TM and TN');
  if (BK === 0 || BK % 4 !== 0) problems.push('BK must be a positive multiple of 4');
  const threads = TM && TN ? (BM / TM) * (BN / TN) : 0;
  if (threads > limits.maxInvocations) problems.push(`${threads} threads per workgroup exceed the device's ${limits.maxInvocations}`);
  const bytes = (BM + BN) * BK * 4 * stages;
  if (bytes > limits.maxWorkgroupBytes) problems.push(`${bytes} bytes of workgroup memory exceed the device's ${limits.maxWorkgroupBytes}`);
  if (problems.length > 0) throw new RangeError(`webgpu backend: GEMM config '${name}': ${problems.join('; ')}`);
  return { name, BM, BN, BK, TM, TN, stages, efficiency: 1 };
}

/** The unrolled register-block snippets of shaders/gemm.wgsl for one tile config (see that file). */
type GemmSnippets = Record<'ACC_DECL' | 'NEXT_DECL' | 'LOAD_NEXT' | 'STORE_NEXT' | 'INNER' | 'EPILOGUE', string>;

const snippetCache = new Map<string, GemmSnippets>();

export function gemmSnippets(cfg: TileConfig): GemmSnippets {
  const key = `${cfg.BM},${cfg.BN},${cfg.BK},${cfg.TM},${cfg.TN}`; // the snippets do not depend on the stages
  const cached = snippetCache.get(key);
  if (cached) return cached;
  const { BM, BN, BK, TM, TN } = cfg;
  const WGX = BN / TN;
  const WGY = BM / TM;
  const WG = WGX * WGY;
  const aVecs = (BM * BK) / 4;
  const bVecs = (BK * BN) / 4;
  const LA = Math.ceil(aVecs / WG);
  const LB = Math.ceil(bVecs / WG);
  const G = TM / 4;
  const H = TN / 4;
  const acc: string[] = [];
  for (let i = 0; i < TM * H; i++) acc.push(`  var acc_${i} = vec4<f32>(0.0);`);
  const next: string[] = [];
  for (let l = 0; l < LA; l++) next.push(`  var nextA_${l} = vec4<f32>(0.0);`);
  for (let l = 0; l < LB; l++) next.push(`  var nextB_${l} = vec4<f32>(0.0);`);
  // The l-th staging vec4 of a thread is t = tid + l·WG; the bound check is dropped where it always holds.
  const staged = (l: number, count: number, body: string): string => {
    const t = l === 0 ? 'tid' : `tid + ${l * WG}u`;
    return (l + 1) * WG <= count ? `    { let t = ${t}; ${body} }` : `    { let t = ${t}; if (t < ${count}u) { ${body} } }`;
  };
  const load: string[] = [];
  const store: string[] = [];
  for (let l = 0; l < LA; l++) {
    load.push(staged(l, aVecs, `nextA_${l} = loadTileA(t, baseA, m0, k0, kEnd);`));
    store.push(staged(l, aVecs, `storeTileA(t, nextA_${l}, stage);`));
  }
  for (let l = 0; l < LB; l++) {
    load.push(staged(l, bVecs, `nextB_${l} = loadTileB(t, baseB, k0, n0, kEnd);`));
    store.push(staged(l, bVecs, `storeTileB(t, nextB_${l}, stage);`));
  }
  const inner: string[] = [];
  for (let g = 0; g < G; g++) inner.push(`      let a_${g} = As[rowA${g === 0 ? '' : ` + ${g * WGY}u`}];`);
  for (let h = 0; h < H; h++) inner.push(`      let b_${h} = Bs[rowB${h === 0 ? '' : ` + ${h * WGX}u`}];`);
  const comps = ['x', 'y', 'z', 'w'];
  for (let g = 0; g < G; g++) {
    for (let q = 0; q < 4; q++) {
      const row = g * 4 + q;
      for (let h = 0; h < H; h++) {
        const i = row * H + h;
        inner.push(`      acc_${i} = fma(vec4<f32>(a_${g}.${comps[q]}), b_${h}, acc_${i});`);
      }
    }
  }
  const epilogue: string[] = [];
  for (let row = 0; row < TM; row++) {
    const g = Math.floor(row / 4);
    epilogue.push(`  {`);
    epilogue.push(`    let r = m0 + (ty + ${g * WGY}u) * 4u + ${row % 4}u;`);
    epilogue.push(`    if (r < params.M) {`);
    for (let h = 0; h < H; h++) {
      epilogue.push(`      writeRow4(r, n0 + (tx + ${h * WGX}u) * 4u, acc_${row * H + h}, baseC, baseD, sym, partial, betaZero);`);
    }
    epilogue.push(`    }`);
    epilogue.push(`  }`);
  }
  const snippets: GemmSnippets = {
    ACC_DECL: acc.join('\n'),
    NEXT_DECL: next.join('\n'),
    LOAD_NEXT: load.join('\n'),
    STORE_NEXT: store.join('\n'),
    INNER: inner.join('\n'),
    EPILOGUE: epilogue.join('\n'),
  };
  snippetCache.set(key, snippets);
  return snippets;
}
