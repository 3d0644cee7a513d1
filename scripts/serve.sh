#!/usr/bin/env bash
# Builds the web app and serves it locally: scripts/serve.sh [port] (default 8080).
# trunk's live-reload script is inline, which the page's CSP forbids: hence --no-autoreload.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
# cargo-installed trunk and wasm-bindgen; wasm-opt from npm (see Trunk.toml).
export PATH="$PWD/tests/e2e/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_OFFLINE=true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

port="${1:-${PORT:-8080}}"
echo "ttpmap: serving at http://127.0.0.1:$port/ (Ctrl-C stops)"
exec trunk serve --release --no-autoreload --address 127.0.0.1 --port "$port"
