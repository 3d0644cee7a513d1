#!/usr/bin/env bash
# Installs what building and testing ttpmap needs, on a fresh Debian machine that has the
# Rust toolchain. Idempotent: checks before installing, prints only what it installs.
# Safe under CI (no prompts, no stdin). Sources: crates.io, Debian apt, npm registry only.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

TRUNK_VERSION=0.21.14
# Not binaryen: Debian's (108) breaks wasm-bindgen's output; wasm-opt comes from npm instead
# (tests/e2e/package.json; see Trunk.toml).
APT_PACKAGES=(chromium chromium-driver mesa-vulkan-drivers)

say() { echo "setup: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

apt_updated=false
apt_install() {
  if [ "$apt_updated" = false ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    apt_updated=true
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

apt_missing() {
  local pkg missing=()
  for pkg in "$@"; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
      missing+=("$pkg")
    fi
  done
  echo "${missing[@]}"
}

# --- Rust: the wasm target, trunk, and the wasm-bindgen CLI matching Cargo.lock ---------

# (Outputs are captured before matching: `cmd | grep -q` can fail under pipefail.)
targets="$(rustup target list --installed)"
if ! grep -qx wasm32-unknown-unknown <<<"$targets"; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# trunk 0.22 needs a newer rustc than we have; 0.21.14 builds with --locked (~15 min).
trunk_have="$(trunk --version 2>/dev/null || true)"
if [[ "$trunk_have" != "trunk 0.21."* ]]; then
  say "installing trunk $TRUNK_VERSION (was: ${trunk_have:-none}); this takes a while"
  cargo install "trunk@$TRUNK_VERSION" --locked
fi

# trunk must not download wasm-bindgen (no internet): the CLI on PATH must equal the crate
# version in Cargo.lock exactly. No --locked: one of its locked dependencies is yanked.
[ -f Cargo.lock ] || { say "Cargo.lock is missing"; exit 1; }
wbg_want="$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
[ -n "$wbg_want" ] || { say "no wasm-bindgen in Cargo.lock"; exit 1; }
wbg_have="$(wasm-bindgen --version 2>/dev/null || true)"
if [ "$wbg_have" != "wasm-bindgen $wbg_want" ]; then
  say "installing wasm-bindgen-cli $wbg_want (was: ${wbg_have:-none})"
  cargo install wasm-bindgen-cli --version "$wbg_want" --force
fi

# --- Debian packages: Chromium for the browser tests, lavapipe (Vulkan on CPU) for wgpu --

missing="$(apt_missing "${APT_PACKAGES[@]}")"
if ! command -v node >/dev/null; then
  # Debian's own Node (18) is enough: tests/e2e pins a playwright-core that supports it.
  missing="$missing $(apt_missing nodejs npm)"
fi
if [ -n "${missing// /}" ]; then
  say "installing Debian packages:$missing"
  # shellcheck disable=SC2086 # word splitting is intended
  apt_install $missing
fi
command -v npm >/dev/null || { say "node is installed but npm is not"; exit 1; }

# --- node modules: playwright-core for the browser tests, binaryen's wasm-opt for trunk --

e2e=tests/e2e
if [ ! -f "$e2e/node_modules/.package-lock.json" ] \
  || [ "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ] \
  || [ "$e2e/package.json" -nt "$e2e/node_modules/.package-lock.json" ]; then
  say "installing the e2e test dependencies (npm ci in $e2e)"
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi
