#!/usr/bin/env bash
# policy-trainer against PyTorch on the CPU: the same GRPO step (generation of a group, then
# one training update) on the same weights and shapes, one after the other in one run.
#
#   scripts/bench-trainer.sh            # tiny random model and SmolLM2-135M (fetched if missing)
#   BENCH_MODELS=tiny scripts/bench-trainer.sh
#
# PyTorch comes from Debian's CPU build (python3-torch) unpacked into a throw-away folder,
# ~/.cache/verdict/torch-env, with OpenBLAS: nothing is installed system-wide. (The registry's
# torch wheels for x86-64 Linux are CUDA builds that pull several GB of CUDA libraries.)
# Needs apt-get (as root) the first time. Threads: THREADS (default 2) for both frameworks.
set -euo pipefail
cd "$(dirname "$0")/.."

threads="${THREADS:-2}"
models="${BENCH_MODELS:-tiny smollm2}"
env_dir="${TORCH_ENV:-$HOME/.cache/verdict/torch-env}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-trainer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [ ! -f "$env_dir/.complete" ]; then
  echo "bench-trainer: unpacking Debian's python3-torch and OpenBLAS into $env_dir" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench-trainer: the first run needs root for apt-get (download only)" >&2
    exit 1
  fi
  debs="$work/debs"
  mkdir -p "$debs/partial"
  apt-get update -qq
  # Only what this system lacks is downloaded; the rest is already on it.
  apt-get install --download-only --no-install-recommends -y -qq \
    -o Dir::Cache::archives="$debs" python3-torch libopenblas0-pthread >&2
  rm -rf "$env_dir" && mkdir -p "$env_dir"
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$env_dir"; done
  touch "$env_dir/.complete"
fi
lib="$env_dir/usr/lib"
# OpenBLAS first: Debian's torch links the generic libblas.so.3, which OpenBLAS provides.
export LD_LIBRARY_PATH="$lib/x86_64-linux-gnu/openblas-pthread:$lib/x86_64-linux-gnu/lapack:$lib/x86_64-linux-gnu:$lib:$env_dir/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
torch_python() { PYTHONPATH="$lib/python3/dist-packages" OMP_NUM_THREADS="$threads" /usr/bin/python3 "$@"; }
torch_python -c 'import torch' || { echo "bench-trainer: PyTorch from $env_dir does not import" >&2; exit 1; }

cargo build --quiet -p policy-trainer "$@"
target="${CARGO_TARGET_DIR:-target}"
trainer="$target/debug/policy-trainer"

declare -A config shape
config[tiny]=policy-trainer/configs/tiny.toml
shape[tiny]="--group 8 --prompt-len 16 --new-tokens 16 --repeats 5"
config[smollm2]=policy-trainer/configs/smollm2-arith.toml
shape[smollm2]="--group 6 --prompt-len 32 --new-tokens 32 --repeats 3"

printf '| model | framework | generation tokens/s | train tokens/s | max abs logit diff |\n|---|---|---:|---:|---:|\n' >"$work/table"
for model in $models; do
  if [ "$model" = smollm2 ] && [ ! -f models/SmolLM2-135M-Instruct.Q4_1.gguf ]; then
    "$trainer" fetch-model smollm2 --dir models >&2
  fi
  # shellcheck disable=SC2086  # the shape is a list of flags
  RAYON_NUM_THREADS="$threads" "$trainer" bench --config "${config[$model]}" ${shape[$model]} \
    --export "$work/$model" | tee "$work/$model.candle.json"
  # shellcheck disable=SC2086
  torch_python policy-trainer/bench/torch_step.py "$work/$model" ${shape[$model]} --threads "$threads" \
    | tee "$work/$model.torch.json"
  python3 - "$model" "$work/$model.candle.json" "$work/$model.torch.json" >>"$work/table" <<'EOF'
import json, sys
model, candle, torch = sys.argv[1], *(json.load(open(p)) for p in sys.argv[2:])
for r in (candle, torch):
    diff = r.get("max_abs_logit_diff_vs_candle")
    print(f"| {model} ({r['parameters']:,} parameters) | {r['framework']} | {r['gen_tokens_per_s']:.1f} | "
          f"{r['train_tokens_per_s']:.1f} | {'—' if diff is None else f'{diff:.1e}'} |")
print(f"| {model} | candle / PyTorch | {candle['gen_tokens_per_s'] / torch['gen_tokens_per_s']:.2f} | "
      f"{candle['train_tokens_per_s'] / torch['train_tokens_per_s']:.2f} | |")
EOF
done
echo
cat "$work/table"
