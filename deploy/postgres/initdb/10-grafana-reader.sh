#!/bin/bash
# Runs once, when the postgres container initialises an empty volume: a login for Grafana that
# can read the audit tables verdict creates later, and nothing else.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v reader_password="$GRAFANA_DB_PASSWORD" -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
create role grafana_reader login password :'reader_password';
grant connect on database :"db" to grafana_reader;
grant usage on schema public to grafana_reader;
alter default privileges for role :"owner" in schema public grant select on tables to grafana_reader;
SQL
