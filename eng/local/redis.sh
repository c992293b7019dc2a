#!/usr/bin/env bash
# Redis without persistence. Env: NOTIFY_DATA_DIR, PORT, REDIS_PASSWORD.
source "$(dirname "$0")/common.sh"
need NOTIFY_DATA_DIR; need PORT; need REDIS_PASSWORD
command -v redis-server >/dev/null || not_found redis-server redis-server
mkdir -p "$NOTIFY_DATA_DIR/redis"
exec redis-server --port "$PORT" --bind 127.0.0.1 --dir "$NOTIFY_DATA_DIR/redis" --save "" --appendonly no \
  --requirepass "$REDIS_PASSWORD" --daemonize no
