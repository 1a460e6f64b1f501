#!/usr/bin/env bash
# Runs a command beside a throw-away PostgreSQL cluster, then stops and deletes the cluster
# whatever the command did:
#
#   scripts/with-postgres.sh cargo test --workspace
#
# The cluster lives in a temporary folder, listens on a free port of 127.0.0.1 only, trusts
# local connections and is gone afterwards. The command sees:
#   VERDICT_TEST_POSTGRES_URL    postgres://postgres@127.0.0.1:PORT/postgres (a superuser)
#   VERDICT_TEST_POSTGRES_STOP   a shell command that stops the server (pg_ctl stop -m fast)
#   VERDICT_TEST_POSTGRES_START  a shell command that starts it again on the same port
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (created
# if missing). The server binaries come from $PG_BINDIR, `pg_config --bindir`, or Debian's
# /usr/lib/postgresql/*/bin; when none is found and we are root, Debian's `postgresql` package
# is installed. WITH_POSTGRES_FSYNC=on keeps fsync on (for benchmarks); tests run without it.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG…]" >&2
  exit 2
fi

find_bindir() {
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then
    echo "$PG_BINDIR"; return
  fi
  if command -v pg_config >/dev/null 2>&1; then
    local dir
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  fi
  local candidate
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ]; then echo "$candidate"; return; fi
  done
}

bindir="$(find_bindir)"
if [ -z "$bindir" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "with-postgres: installing PostgreSQL server binaries (apt-get install postgresql)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
    bindir="$(find_bindir)"
  fi
  if [ -z "$bindir" ]; then
    echo "with-postgres: no PostgreSQL server binaries found (set PG_BINDIR)" >&2
    exit 1
  fi
fi

# As root, run the server as an unprivileged user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
  fi
  as_pg=(runuser -u postgres --)
fi

# The port comes from below the kernel's ephemeral range: the fault test stops and restarts
# the server, and while it is down an outgoing connection could otherwise be handed the same
# port, so the restart would fail to bind.
free_port() {
  local port low=32768 high=60999
  if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
    read -r low high </proc/sys/net/ipv4/ip_local_port_range
  fi
  local first=10000 span
  if [ "$low" -gt 11000 ]; then span=$((low - first)); else first=$((high + 1)); span=$((65535 - high)); fi
  [ "$span" -gt 0 ] || { first=10000; span=1000; }
  for _ in $(seq 1 100); do
    port=$((first + RANDOM % span))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"; return
    fi
  done
  echo "with-postgres: no free port found" >&2
  exit 1
}

cluster="$(mktemp -d "${TMPDIR:-/tmp}/verdict-pg.XXXXXX")"
chmod 755 "$cluster"
[ "${#as_pg[@]}" -gt 0 ] && chown postgres: "$cluster"
port="$(free_port)"
data="$cluster/data"
log="$cluster/server.log"

cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_pg[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >"$cluster/initdb.log" 2>&1 \
  || { cat "$cluster/initdb.log" >&2; exit 1; }

fsync="${WITH_POSTGRES_FSYNC:-off}"
server_opts="-p $port -k $cluster -c listen_addresses=127.0.0.1 -c fsync=$fsync -c max_connections=300"
start_cmd=("${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "$server_opts" start)
stop_cmd=("${as_pg[@]}" "$bindir/pg_ctl" -D "$data" -w -t 60 -m fast stop)
"${start_cmd[@]}" >/dev/null || { cat "$log" >&2; exit 1; }

export VERDICT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
# A failed restart shows the server's own reason, not only pg_ctl's "Examine the log output".
export VERDICT_TEST_POSTGRES_START="$(printf '%q ' "${start_cmd[@]}") || { tail -n 20 $(printf '%q' "$log") >&2; false; }"
export VERDICT_TEST_POSTGRES_STOP="$(printf '%q ' "${stop_cmd[@]}")"
echo "with-postgres: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync=$fsync)" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
