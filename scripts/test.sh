#!/usr/bin/env bash
# The project's test command: the whole workspace with a throw-away PostgreSQL server beside it
# (so the storage suite runs against SQLite and PostgreSQL alike), then the Python client's
# tests against a real `verdict serve`. Extra arguments go to `cargo test` (for example
# `scripts/test.sh --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/with-postgres.sh cargo test --workspace "$@"

echo "== Python client tests (clients/python) against a real server"
cargo build --quiet --bin verdict "$@"
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
# The virtual environment is rebuilt only when the client's packaging changes.
venv="${VERDICT_PYTHON_VENV:-$HOME/.cache/verdict/client-venv-$(sha256sum clients/python/pyproject.toml | cut -c1-12)}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "./clients/python[test]"
fi
# Always test the client as it is in this checkout.
"$venv/bin/pip" install --quiet --no-deps --force-reinstall ./clients/python
rm -rf clients/python/build
VERDICT_BIN="$target_dir/debug/verdict" "$venv/bin/python" -m pytest -q clients/python/tests

# Hardening: the HTTP contract against /openapi.json (schemathesis, every check).
echo "== API contract tests (schemathesis) against a real server"
scripts/schemathesis.sh
