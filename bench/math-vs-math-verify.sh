#!/usr/bin/env bash
# Runs verdict's math bench and Math-Verify 0.9.0 on the same corpus in one go, and prints
# both figures and their ratio. Math-Verify is installed into a throw-away virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${VERDICT_BENCH_SECONDS:-5}"
corpus=../shared/data/math/peer_cases.jsonl

venv="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$venv")"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "math-verify==0.9.0"

echo "== verdict (cargo bench --bench math)"
rust_out="$(VERDICT_BENCH_SECONDS="$seconds" cargo bench --quiet --bench math)"
echo "$rust_out"
echo "== Math-Verify 0.9.0"
py_out="$(taskset -c 0 "$venv/bin/python" bench/math_verify_baseline.py "$corpus" "$seconds" 2>/dev/null)"
echo "$py_out"

ours=$(awk '/^verdict_math_verifications_per_second/ {print $2}' <<<"$rust_out")
theirs=$(awk '/^math_verify_verifications_per_second/ {print $2}' <<<"$py_out")
echo "== ratio: verdict / Math-Verify = $(python3 -c "print(f'{$ours / $theirs:.0f}x')")"
