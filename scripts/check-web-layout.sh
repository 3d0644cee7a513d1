#!/usr/bin/env bash
# Checks the web app's shape (docs/architecture.md, "Invariants"); fails loudly:
#
# 1. The page (crates/web/page) never runs the model: candle, the tokenizer, wgpu and
#    ttpmap-gpu belong to the inference worker (crates/web/worker). It fails, naming the
#    crates and how they got in, when the page's wasm dependency tree has any of them.
# 2. No Rust file of the page, the worker or the protocol is over 500 lines.
#
# ttpmap-mapper, whose mapping types (ReportMapping, the layer export, technique vectors)
# the page uses, keeps the model behind its `model` feature, which the page leaves off; so
# the full tree is checked (`cargo tree -p ttpmap-web-page --target wasm32-unknown-unknown
# -e normal | grep candle-core` prints nothing). ALLOWED_VIA may name crates whose
# subtrees are not checked; it is empty and should stay so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PAGE=ttpmap-web-page
FORBIDDEN='^(candle-core|candle-nn|candle-transformers|tokenizers|wgpu|wgpu-core|naga|ttpmap-gpu|ttpmap-web-worker) '
ALLOWED_VIA=()

prune=()
for p in ${ALLOWED_VIA[@]+"${ALLOWED_VIA[@]}"}; do prune+=(--prune "$p"); done

tree="$(cargo tree -p "$PAGE" --target wasm32-unknown-unknown -e normal --prefix none ${prune[@]+"${prune[@]}"})"
bad="$(grep -E "$FORBIDDEN" <<<"$tree" | sed 's/ (\*)$//' | sort -u || true)"
if [ -n "$bad" ]; then
  echo "check-web-layout: FAILED: the page ($PAGE) depends on what only the worker may:" >&2
  echo "$bad" >&2
  while read -r name _; do
    echo "--- how $name gets in:" >&2
    cargo tree -p "$PAGE" --target wasm32-unknown-unknown -e normal ${prune[@]+"${prune[@]}"} -i "$name" >&2 || true
  done <<<"$bad"
  exit 1
fi
echo "check-web-layout: the page ($PAGE) depends on no candle, tokenizer, wgpu or ttpmap-gpu${ALLOWED_VIA[*]:+ (not counting what comes through ${ALLOWED_VIA[*]})}"

MAX_LINES=500
long="$(find crates/web -name '*.rs' -not -path '*/target/*' -print0 | xargs -0 wc -l | awk -v max="$MAX_LINES" '$2 != "total" && $1 > max')"
if [ -n "$long" ]; then
  echo "check-web-layout: FAILED: Rust files of the web app over $MAX_LINES lines (split them by what they do):" >&2
  echo "$long" >&2
  exit 1
fi
echo "check-web-layout: no Rust file of the web app is over $MAX_LINES lines"
