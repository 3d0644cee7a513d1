#!/usr/bin/env bash
# Everything CI runs: install what is missing, the Rust tests, a release build of the site,
# then the browser tests against it. Stops at the first failing step.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
# cargo-installed trunk and wasm-bindgen; wasm-opt from npm (see Trunk.toml).
export PATH="$PWD/tests/e2e/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_OFFLINE=true

step() { printf '\n== %s\n' "$*"; }

# Release, because the model tests are far too slow unoptimised. LTO and a single codegen
# unit only make the shipped binaries a little smaller and faster, while they make this
# build much slower, so the tests turn them off (opt-level stays as in Cargo.toml).
step "the web app's shape: no candle in the page, no file over 500 lines (scripts/check-web-layout.sh)"
scripts/check-web-layout.sh

step "cargo test --workspace --release"
CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo test --workspace --release --no-fail-fast

step "trunk build --release (dist/)"
trunk build --release

step "browser tests (tests/e2e)"
cd tests/e2e
# node's test runner prints the "# tests / # pass / # fail" summary last.
node --test ./*.test.mjs
