#!/usr/bin/env bash
# Builds .bundle/bench.mjs: scripts/bench-webgpu.ts and everything it imports as one ES module, for the offline GPU
# machine (no node_modules there). The bundle loads Dawn from $DAWN_NODE (set by .gpu/device-env.sh, see
# ../shared/gpu/README.md); without it, it falls back to the `webgpu` package, which stays external.
# Usage: bash scripts/build-gpu-bundle.sh, then on the GPU machine:
#   source .gpu/device-env.sh; node .bundle/bench.mjs [--quick] [--only kernels|admm] [--out bench-webgpu.json]
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/embed-shaders.mjs
mkdir -p .bundle
# CommonJS dependencies inside an ES module bundle call require(): give the bundle one.
pnpm exec esbuild scripts/bench-webgpu.ts \
  --bundle --platform=node --format=esm --target=node20 \
  --external:webgpu \
  --banner:js="import { createRequire as __nladmmCreateRequire } from 'node:module'; const require = __nladmmCreateRequire(import.meta.url);" \
  --outfile=.bundle/bench.mjs --log-level=warning
du -h .bundle/bench.mjs
