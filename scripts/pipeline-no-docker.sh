#!/usr/bin/env bash
# The docker-compose topology without a container engine, end to end, from installed binaries:
#
#   PostgreSQL (a throw-away cluster from scripts/with-postgres.sh, or PIPELINE_DATABASE_URL)
#     └─ two `verdict serve` replicas on free ports of 127.0.0.1, each with its own data dir
#          └─ a round-robin load balancer (scripts/pipeline/lb.py, nginx's part in compose)
#               ├─ a mixed math + code batch, split across both replicas
#               └─ policy-trainer, 3 GRPO steps of policy-trainer/configs/tiny.toml
#
# and checks that every verdict is as expected, that both replicas judged a share, and that the
# audit trail holds every submission exactly once (PostgreSQL read with psql, and each
# replica's API). CI runs it (.ci/run).
#
#   scripts/pipeline-no-docker.sh [--without-trainer] [CARGO BUILD ARGS…]
#
# --without-trainer stops before the trainer (for a checkout without policy-trainer/);
# without it, a missing trainer is a failure. PIPELINE_KEEP=1 leaves the work folder (logs).
set -euo pipefail
cd "$(dirname "$0")/.."

with_trainer=1
cargo_args=()
for arg in "$@"; do
  case "$arg" in
    --without-trainer) with_trainer=0 ;;
    *) cargo_args+=("$arg") ;;
  esac
done

# A database first: the caller's, or a throw-away cluster around this whole script.
if [ -z "${PIPELINE_DATABASE_URL:-}" ] && [ -z "${VERDICT_TEST_POSTGRES_URL:-}" ]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi
database_url="${PIPELINE_DATABASE_URL:-$VERDICT_TEST_POSTGRES_URL}"

say() { echo "pipeline: $*"; }

cargo build --quiet --bin verdict "${cargo_args[@]}"
metadata="$(cargo metadata --format-version 1 --no-deps)"
target_dir="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' <<<"$metadata")"
verdict="$target_dir/debug/verdict"
has_trainer="$(python3 -c 'import json,sys; print(int(any(p["name"] == "policy-trainer" for p in json.load(sys.stdin)["packages"])))' <<<"$metadata")"
if [ "$with_trainer" = 1 ] && [ "$has_trainer" = 1 ]; then
  cargo build --quiet -p policy-trainer --bin policy-trainer "${cargo_args[@]}"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/verdict-pipeline.XXXXXX")"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for log in "$work"/*.log; do
      [ -f "$log" ] && { echo "----- $log (last 40 lines)" >&2; tail -n 40 "$log" >&2; }
    done
  fi
  if [ "${PIPELINE_KEEP:-0}" = 1 ]; then say "work folder kept: $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The sandbox images once, before two processes want them (the Docker image does this at build).
export VERDICT_SANDBOX_DIR="${VERDICT_SANDBOX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/verdict}"
"$verdict" images pull >"$work/images.log" 2>&1 || { cat "$work/images.log" >&2; exit 1; }

# Two replicas: same database, same config file as compose, each its own data dir (spool).
replicas=()
for name in replica-a replica-b; do
  VERDICT_LISTEN=127.0.0.1:0 VERDICT_DATABASE_URL="$database_url" VERDICT_DATA_DIR="$work/$name" \
    VERDICT_CONFIG=deploy/verdict.toml VERDICT_LOG_JSON=true \
    "$verdict" serve >"$work/$name.log" 2>&1 &
  pids+=("$!")
done
for name in replica-a replica-b; do
  address=""
  for _ in $(seq 1 600); do
    address="$(grep -m1 'verdict listening' "$work/$name.log" 2>/dev/null | grep -o '127\.0\.0\.1:[0-9]\+' || true)"
    [ -n "$address" ] && break
    sleep 0.1
  done
  [ -n "$address" ] || { say "FAILED: $name did not start listening within 60 s" >&2; exit 1; }
  for _ in $(seq 1 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://$address/readyz', timeout=2)" 2>/dev/null && break
    sleep 0.1
  done
  replicas+=("http://$address")
  say "$name ready on $address"
done
rows_before="$(psql "$database_url" -XAtq -c 'select count(*) from submissions')"

python3 scripts/pipeline/lb.py --port-file "$work/lb.port" "${replicas[@]}" >"$work/lb.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do [ -s "$work/lb.port" ] && break; sleep 0.1; done
[ -s "$work/lb.port" ] || { say "FAILED: the load balancer did not start" >&2; exit 1; }
lb="http://127.0.0.1:$(cat "$work/lb.port")"
say "load balancer on $lb in front of ${replicas[*]}"

run_id="pipeline-$(date -u +%Y%m%dT%H%M%S)-$$"
replica_args=(--replica "${replicas[0]}" --replica "${replicas[1]}")
python3 scripts/pipeline/batch.py send --lb "$lb" "${replica_args[@]}" --run-id "$run_id" --ids "$work/ids.json"
python3 scripts/pipeline/batch.py audit "${replica_args[@]}" --run-id "$run_id" --ids "$work/ids.json" \
  --database-url "$database_url"

if [ "$with_trainer" = 0 ]; then
  say "trainer step skipped (--without-trainer)"
elif [ "$has_trainer" = 0 ]; then
  say "FAILED: policy-trainer is missing: no policy-trainer package in this workspace, so the" >&2
  say "trainer step (3 GRPO steps against the replicas) cannot run. Merge the trainer, or pass" >&2
  say "--without-trainer to check only the replicas, the batch and the audit trail." >&2
  exit 1
else
  say "policy-trainer: 3 steps of policy-trainer/configs/tiny.toml against $lb"
  if ! "$target_dir/debug/policy-trainer" train --config policy-trainer/configs/tiny.toml --steps 3 \
      --verdict-url "$lb" --out "$work/trainer" 2>&1 | tee "$work/trainer.log"; then
    say "FAILED: policy-trainer exited with an error" >&2
    exit 1
  fi
fi

# Everything the replicas judged, batch and trainer alike, is in the database exactly once.
python3 scripts/pipeline/batch.py totals "${replica_args[@]}" --database-url "$database_url" \
  --rows-before "$rows_before"
kill -TERM "${pids[-1]}" && wait "${pids[-1]}" 2>/dev/null || true
cat "$work/lb.log"
say "ok"
