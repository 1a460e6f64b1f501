#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for a bounded time each, one after the
# other, seeded from ../shared/data/math. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# (default 20 s, all targets). A crash, timeout or out-of-memory stops it with a non-zero
# status; the input is left in fuzz/artifacts/<target>/ for a regression test.
#
# Needs cargo-fuzz (installed here when missing) and libFuzzer's nightly flags, which the
# stable toolchain accepts with RUSTC_BOOTSTRAP=1. No sanitizer: the crate forbids unsafe
# code, so the coverage-guided search for panics, hangs and memory blow-ups is what counts.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-20}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(extract_answer math_parse math_equivalence code_fence request_items)
fi

if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --version 0.13.2
fi
export RUSTC_BOOTSTRAP=1
target_dir="${VERDICT_FUZZ_TARGET_DIR:-$HOME/.cache/verdict/fuzz-target}"
corpus_root="fuzz/corpus"
python3 scripts/fuzz-seeds.py ../shared/data/math "$corpus_root"

for target in "${targets[@]}"; do
  echo "== fuzz $target for ${seconds} s"
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a memory blow-up.
  log="$(mktemp)"
  status=0
  cargo fuzz run --sanitizer none --target-dir "$target_dir" "$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)|Done [0-9]+ runs|panicked|ERROR|SUMMARY|artifact" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target failed (status $status); the input is in fuzz/artifacts/$target/" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
done
