#!/usr/bin/env bash
# Contract test of the HTTP API: schemathesis (from the Python package index, in a throw-away
# virtual environment under ~/.cache/verdict) against /openapi.json of a real `verdict serve`
# on a free port of 127.0.0.1 with a temporary data directory and an API key configured, so
# that the documented security (401/403 without the key) is exercised too. Every check runs;
# the only tuning is in schemathesis.toml beside this script's repository root (see there why).
# Fails on any server error or response that does not match the document.
# Extra arguments go to `schemathesis run` (for example `--max-examples 20`).
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.32.5
venv="${VERDICT_SCHEMATHESIS_VENV:-$HOME/.cache/verdict/schemathesis-venv-$version}"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

cargo build --quiet --bin verdict
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

key="schemathesis-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$work/verdict.toml" <<TOML
[[api_keys]]
name = "schemathesis"
$(printf '%s\n' "$key" | "$target_dir/debug/verdict" keys hash)
scopes = ["reward", "audit:read", "admin"]
TOML

# The sandbox images and compiled modules are shared with the test suite, so code runs do
# not compile Python afresh.
sandbox_dir="${VERDICT_SANDBOX_DIR:-$HOME/.cache/verdict}"
VERDICT_LOG_JSON=true RUST_LOG=info,tower_http=warn "$target_dir/debug/verdict" serve --sandbox-dir "$sandbox_dir" \
  --config "$work/verdict.toml" --listen 127.0.0.1:0 --data-dir "$work/data" \
  --database-url "sqlite://$work/verdict.db" >"$work/server.log" 2>&1 &
server_pid=$!
address=""
for _ in $(seq 1 200); do
  address="$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("fields", {}).get("message") == "verdict listening":
        print(event["fields"]["address"])
' "$work/server.log")"
  [ -n "$address" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "schemathesis: the server did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$address" ] || { echo "schemathesis: no listening address in the log" >&2; exit 1; }

# One code run first: the sandbox is built on first use, which must not count against a test.
curl -sf -o /dev/null -H "Authorization: Bearer $key" -H 'content-type: application/json' \
  -d '{"language": "python", "code": "print(1)"}' "http://$address/v1/code/run" \
  || { echo "schemathesis: the warm-up code run failed" >&2; exit 1; }

# Schemathesis workers are threads, and before CPython 3.13 the interpreter's AST builder keeps
# its recursion counter in state shared by threads: hypothesis parsing lambdas in two workers at
# once then fails with "SystemError: AST constructor recursion depth mismatch" (CPython
# gh-106905), an error of the tool, not of the server. Older interpreters get one worker.
workers=1
if "$venv/bin/python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)'; then workers=2; fi

echo "== schemathesis $version against http://$address/openapi.json ($workers worker(s))"
"$venv/bin/schemathesis" --config-file schemathesis.toml run "http://$address/openapi.json" \
  --checks all -H "Authorization: Bearer $key" --workers "$workers" "$@"
