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

# ---- data sets (nladmm CLI) ---------------------------------------------------------------------------------
# `nladmm train --preset fashion-mnist` reads Debian's dataset-fashion-mnist from /usr/share/datasets/fashion-mnist.
# Installed as root (CI, fresh Debian 12) with one `apt-get update`; elsewhere a hint is printed. Never fatal: the
# tests do not need it, and the CLI names the missing files itself.
if [ ! -d /usr/share/datasets/fashion-mnist ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing dataset-fashion-mnist (Debian)" >&2
    if ! { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dataset-fashion-mnist >&2; }; then
      echo "setup: could not install dataset-fashion-mnist; the fashion-mnist preset will not find its data" >&2
    fi
  else
    echo "setup: /usr/share/datasets/fashion-mnist is missing: install it with 'sudo apt-get install dataset-fashion-mnist'" >&2
  fi
fi
# ---- end of data sets ---------------------------------------------------------------------------------------

# ---- browser tests and web demo (test/browser, packages/web-demo) ----------------------------------------------
# The headless WebGPU tests drive Debian's Chromium (WebGPU on its bundled SwiftShader Vulkan driver) through
# puppeteer-core. Installed as root (CI, fresh Debian 12) when /usr/bin/chromium (or $CHROMIUM_PATH) is missing;
# elsewhere a hint is printed and the browser tests fail fast saying Chromium was not found.
NLADMM_CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$NLADMM_CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (Debian) for the browser tests" >&2
    if ! { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2; }; then
      echo "setup: could not install chromium; the browser tests (test/browser) will fail" >&2
    fi
  else
    echo "setup: $NLADMM_CHROMIUM is missing: install it with 'sudo apt-get install chromium' (or set CHROMIUM_PATH)" >&2
  fi
fi
# ---- end of browser tests and web demo --------------------------------------------------------------------------

# ---- WebGPU backend (packages/webgpu-backend, test/webgpu-*.test.ts, scripts/bench-webgpu.ts) --------------------
# Dawn (the `webgpu` package) runs the tests on SwiftShader's Vulkan driver, which Debian's chromium package ships
# (/usr/lib/chromium/vk_swiftshader_icd.json), through the Vulkan loader libvulkan1. Installed as root (CI, fresh
# Debian 12) when either is missing; elsewhere a hint is printed. Then the WGSL sources of shaders/ are embedded
# into packages/webgpu-backend/src/shaders.generated.ts (git-ignored; rewritten only when a shader changed).
if [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ] || ! { ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1' || ls /usr/lib/*/libvulkan.so.1 >/dev/null 2>&1; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium (SwiftShader) and libvulkan1 for the WebGPU tests" >&2
    if ! { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium libvulkan1 >&2; }; then
      echo "setup: could not install chromium and libvulkan1; the WebGPU tests will find no adapter" >&2
    fi
  else
    echo "setup: SwiftShader's Vulkan driver or libvulkan1 is missing: install them with 'sudo apt-get install chromium libvulkan1'" >&2
  fi
fi
node scripts/embed-shaders.mjs
# ---- end of WebGPU backend ----------------------------------------------------------------------------------------
