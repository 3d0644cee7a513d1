#!/usr/bin/env bash
# After a new public/model (scripts/train.sh): everything that depends on the encoder.
#  1. ATRM's and TMFK's technique vectors (public/matrices/*.vectors.json), which are
#     stamped with the model's sha256 and refused once stale.
#  2. The similarity calibration on the 12 Enterprise calibration reports, with Enterprise
#     vectors built with and without procedure examples: it prints the tables whose chosen
#     rows go into SimilarityConfig's defaults (crates/mapper/src/similarity.rs).
#  3. The held-out evaluation of the classifier (`ttpmap eval`).
# Writes its reports to ${OUT:-/tmp/after-training}.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/after-training}
mkdir -p "$out"
cargo build --release --bin ttpmap
t=target/release/ttpmap
enterprise=data/attack/enterprise-attack-18.1.json
reports=data/tram/reports
$t vectors --backend cpu
$t vectors "$enterprise" --out "$out/with-examples" --backend cpu
$t vectors "$enterprise" --no-examples --out "$out/no-examples" --backend cpu
$t eval "$reports" --backend cpu | tee "$out/eval.txt"
echo "== similarity calibration, vectors with procedure examples (SimilarityConfig::default)"
$t eval "$reports" --backend cpu --similarity "$out/with-examples/enterprise.vectors.json" --calibrate | tee "$out/calibrate-with-examples.txt"
echo "== similarity calibration, vectors without examples (NO_EXAMPLES_*: ATRM, TMFK)"
$t eval "$reports" --backend cpu --similarity "$out/no-examples/enterprise.vectors.json" --calibrate | tee "$out/calibrate-no-examples.txt"
