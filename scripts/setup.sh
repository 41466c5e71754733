#!/usr/bin/env bash
# Installs what the project needs on a fresh machine with Node 20 + npm: pnpm (pinned) and the
# workspace's node modules. Idempotent: quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=12.4.2
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm@$PNPM_VERSION" >&2
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi
if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "setup: installing node modules" >&2
  pnpm install --frozen-lockfile >&2
fi

# ---- Debian packages ---------------------------------------------------------------------------------------------
# - dataset-fashion-mnist: `nladmm train --preset fashion-mnist` and the web demo's subset read
#   /usr/share/datasets/fashion-mnist (the CLI names missing files itself; the tests do not need it).
# - chromium: the browser tests drive it through puppeteer-core (test/browser), and Dawn runs the WebGPU tests on
#   the SwiftShader Vulkan driver it ships (/usr/lib/chromium/vk_swiftshader_icd.json, from chromium-common).
# - libvulkan1: the Vulkan loader Dawn opens.
# - libopenblas0-pthread: the CBLAS + LAPACK library of the blas backend (libopenblas.so.0, threaded).
# - mpich: mpirun (hydra) for sample-sharded runs and the tests of packages/mpi; it depends on libmpich12, which
#   holds libmpich.so.12, the library @nladmm/mpi opens (so --no-install-recommends still brings it).
# Missing ones are installed as root (CI: a fresh Debian 12) with one `apt-get update`; elsewhere a hint is printed.
NLADMM_CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
missing=()
[ -d /usr/share/datasets/fashion-mnist ] || missing+=(dataset-fashion-mnist)
{ [ -x "$NLADMM_CHROMIUM" ] && [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; } || missing+=(chromium)
{ ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || ls /usr/lib/*/libvulkan.so.1 >/dev/null 2>&1; } || missing+=(libvulkan1)
{ ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so\.0' || ls /usr/lib/*/libopenblas.so.0 >/dev/null 2>&1; } || missing+=(libopenblas0-pthread)
{ command -v mpirun >/dev/null 2>&1 && { ldconfig -p 2>/dev/null | grep -q 'libmpich\.so\.12' || ls /usr/lib/*/libmpich.so.12 >/dev/null 2>&1; }; } || missing+=(mpich)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    if ! { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; }; then
      echo "setup: could not install ${missing[*]}; the tests that need them will say what is missing" >&2
    fi
  else
    echo "setup: missing Debian packages: install them with 'sudo apt-get install ${missing[*]}'" >&2
  fi
fi

# The WGSL sources of shaders/ embedded into packages/webgpu-backend/src/shaders.generated.ts (git-ignored;
# rewritten only when a shader changed).
node scripts/embed-shaders.mjs
