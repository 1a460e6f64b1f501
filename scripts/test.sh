#!/usr/bin/env bash
# The project's test command: the whole workspace, with a throw-away PostgreSQL server beside it
# so that the storage suite runs against SQLite and PostgreSQL alike. Extra arguments go to
# `cargo test` (for example `scripts/test.sh --locked`).
set -euo pipefail
cd "$(dirname "$0")/.."
exec scripts/with-postgres.sh cargo test --workspace "$@"
