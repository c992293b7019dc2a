#!/usr/bin/env bash
# PostgreSQL as the unprivileged 'postgres' user (it refuses to run as root).
# Env: NOTIFY_DATA_DIR, PORT, POSTGRES_PASSWORD, POSTGRES_DB.
source "$(dirname "$0")/common.sh"
need NOTIFY_DATA_DIR; need PORT; need POSTGRES_PASSWORD; need POSTGRES_DB
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/postgres" ] || not_found "postgres (PostgreSQL 15)" postgresql-15

as_postgres=()
if [ "$(id -u)" -eq 0 ]; then as_postgres=(setpriv --reuid=postgres --regid=postgres --init-groups); fi

data="$NOTIFY_DATA_DIR/pgdata"
if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$NOTIFY_DATA_DIR" "$data"
  chmod 700 "$data"
  pwfile="$NOTIFY_DATA_DIR/.pgpass-init"
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$pwfile"
  "${as_postgres[@]}" "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  [ "$POSTGRES_DB" = postgres ] || echo "CREATE DATABASE \"$POSTGRES_DB\";" | "${as_postgres[@]}" "$bin/postgres" --single -D "$data" postgres >/dev/null
fi
# glibc's malloc keeps the memory a statement freed: by default each connection hands it back after every large COPY or
# sort and maps it in again for the next (brk, page faults and TLB flushes, which this kind of virtual machine makes
# dear: about a tenth of PostgreSQL's CPU in the batch-accept benchmark).
export GLIBC_TUNABLES=glibc.malloc.trim_threshold=268435456:glibc.malloc.mmap_threshold=33554432
# A crash can leave postmaster.pid behind; postgres itself refuses to start only if that pid is alive.
exec "${as_postgres[@]}" "$bin/postgres" -D "$data" -p "$PORT" -k "$data" \
  -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=on
