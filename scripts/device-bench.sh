#!/usr/bin/env bash
# The benchmark run for the offline GPU machine, as one call of the device tool (../shared/gpu/README.md):
#   here:  bash ../shared/gpu/stage.sh && bash scripts/build-gpu-bundle.sh
#   there: bash scripts/device-bench.sh "$OUT"        (carrying .gpu and .bundle)
# 1. bench.log/json: every kernel at the ADMM shapes and Algorithm 1 per iteration, with a per-dispatch GPU profile of
#    one iteration, of the solve and of the Cholesky (--profile), and the table of the issue's targets;
# 2. train/: `nladmm train --preset fashion-mnist` on all 60000 training images on the GPU (progress log, config,
#    metrics, plots; the checkpoint stays there, V and Λ are 128 MB); 3. sweep.log/json: the square and ADMM GEMMs
#    for each tile config below. Each part has a time limit (≤ 550 s in all, + 15 s each to kill a hung one), so
#    that one that hangs leaves time and output for the others: give the device call timeout_s 600.
# 4. sweep-unsafe.log/json: two of those configs again with Dawn's robustness off (no bounds clamps on buffer and
#    workgroup-array indices), to learn whether the clamps cost GEMM throughput (the kernels check their own bounds,
#    but a browser cannot turn robustness off, so the default stays on).
# BENCH_EXTRA adds arguments to both runs (BENCH_EXTRA=--quick tries the script itself on a small problem).
set -uo pipefail
out=${1:?usage: bash scripts/device-bench.sh OUTPUT_FOLDER}
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source .gpu/device-env.sh >/dev/null 2>&1
# The GPU's clocks and P-state every 200 ms while the benchmarks run (does an idle pause leave it at low clocks?).
smi=$(command -v nvidia-smi || ls /usr/local/nvidia/bin/nvidia-smi 2>/dev/null || true)
if [ -n "$smi" ]; then
  "$smi" --query-gpu=timestamp,pstate,clocks.sm,clocks.mem,utilization.gpu,power.draw --format=csv -lms 200 > "$out/gpu-clocks.csv" 2>&1 &
  sampler=$!
fi
timeout -k 15 300 node .bundle/bench.mjs --repeats 5 --profile ${BENCH_EXTRA:-} --out "$out/bench.json" > "$out/bench.log" 2>&1
echo "bench exit $?" >> "$out/bench.log"
if [ -d .bundle/fashion-mnist ]; then
  mkdir -p "$out/train"
  rm -rf /tmp/nladmm-run
  size=(--n-train 60000)
  [[ "${BENCH_EXTRA:-}" == *--quick* ]] && size=(--n-train 500 --iterations 3)
  # -k: the CLI answers SIGTERM by finishing its iteration; a hung GPU call would never get there.
  timeout -k 15 90 node .bundle/nladmm.mjs train --preset fashion-mnist "${size[@]}" --backend webgpu --precision f32 \
    --data-dir .bundle/fashion-mnist --checkpoint-every 1000 --out /tmp/nladmm-run > "$out/train/log.txt" 2>&1
  echo "train exit $?" >> "$out/train/log.txt"
  cp /tmp/nladmm-run/config.json /tmp/nladmm-run/metrics.jsonl "$out/train/" 2>/dev/null
  cp /tmp/nladmm-run/plots/*.svg "$out/train/" 2>/dev/null
fi
configs=128x128,64x64,128x64,64x128,128x128-k8-t8x8,128x128-k32-t8x8,64x64-k16-t8x8,128x128-k16-t8x8-s2,64x64-k16-t4x4-s2,128x64-k16-t8x4-s2
timeout -k 15 110 node .bundle/bench.mjs --repeats 3 --warmup-ms 500 --only sweep --sweep-configs "$configs" ${BENCH_EXTRA:-} --out "$out/sweep.json" > "$out/sweep.log" 2>&1
echo "sweep exit $?" >> "$out/sweep.log"
timeout -k 15 50 node .bundle/bench.mjs --repeats 3 --warmup-ms 500 --only sweep --sweep-configs 128x128,64x64 \
  --dawn-options enable-dawn-features=disable_workgroup_init,disable_robustness ${BENCH_EXTRA:-} --out "$out/sweep-unsafe.json" > "$out/sweep-unsafe.log" 2>&1
echo "sweep (robustness off) exit $?" >> "$out/sweep-unsafe.log"
[ -n "${sampler:-}" ] && kill "$sampler"
tail -n 60 "$out/bench.log"
tail -n 6 "$out/train/log.txt" 2>/dev/null
grep -E 'GFLOP|failed|WRONG' "$out/sweep.log"
echo "robustness off:"
grep -E 'GFLOP|failed|WRONG' "$out/sweep-unsafe.log"
