#!/usr/bin/env bash
# The minimum supported Rust version (`rust-version` in Cargo.toml) is checked, not assumed:
# when this machine's rustc is that version, the CI build itself is the check; otherwise the
# declared toolchain is installed with rustup and the workspace is checked with it (in its own
# target folder beside CI's, so the two toolchains' outputs never mix).
set -euo pipefail
cd "$(dirname "$0")/.."

declared="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
if [ -z "$declared" ]; then
  echo "msrv: Cargo.toml declares no rust-version" >&2
  exit 1
fi
current="$(rustc --version | awk '{ print $2 }')"
# Compared as major.minor: `1.95` and `1.95.0` are the same minimum.
if [ "$(echo "$current" | cut -d. -f1,2)" = "$(echo "$declared" | cut -d. -f1,2)" ]; then
  echo "msrv: rustc $current is the declared minimum ($declared); the build above checked it"
  exit 0
fi
echo "msrv: rustc here is $current; checking the workspace with the declared $declared"
rustup toolchain install "$declared" --profile minimal
CARGO_TARGET_DIR="${MSRV_TARGET_DIR:-$HOME/.cache/verdict/msrv-target}" \
  cargo "+$declared" check --workspace --all-targets --locked
