#!/usr/bin/env bash
# Builds .bundle/ for the offline GPU machine (no node_modules there), each program as one ES module with everything
# it imports: bench.mjs (scripts/bench-webgpu.ts) and nladmm.mjs (the command line), plus fashion-mnist/ (the IDX
# files of Debian's dataset-fashion-mnist, when installed, ≈ 31 MB) for an end-to-end training run there. The bundles
# load Dawn from $DAWN_NODE (set by .gpu/device-env.sh, see ../shared/gpu/README.md); without it, they fall back to
# the `webgpu` package, which stays external.
# Usage: bash scripts/build-gpu-bundle.sh, then on the GPU machine (scripts/device-bench.sh runs both):
#   source .gpu/device-env.sh; node .bundle/bench.mjs [--quick] [--only kernels|admm] [--out bench-webgpu.json]
#   source .gpu/device-env.sh; node .bundle/nladmm.mjs train --backend webgpu --precision f32 --data-dir .bundle/fashion-mnist …
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/embed-shaders.mjs
mkdir -p .bundle
bundle() {
  # CommonJS dependencies inside an ES module bundle call require(): give the bundle one.
  pnpm exec esbuild "$1" \
    --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu \
    --banner:js="import { createRequire as __nladmmCreateRequire } from 'node:module'; const require = __nladmmCreateRequire(import.meta.url);" \
    --outfile="$2" --log-level=warning
}
bundle scripts/bench-webgpu.ts .bundle/bench.mjs
bundle packages/cli/src/main.ts .bundle/nladmm.mjs
data=/usr/share/datasets/fashion-mnist
if [ -f "$data/train-images-idx3-ubyte.gz" ]; then
  mkdir -p .bundle/fashion-mnist
  cp "$data"/*-ubyte.gz .bundle/fashion-mnist/
fi
du -sh .bundle/*
