#!/usr/bin/env bash
# RabbitMQ node private to this run. Env: NOTIFY_DATA_DIR, PORT, RABBITMQ_USER, RABBITMQ_PASSWORD.
source "$(dirname "$0")/common.sh"
need NOTIFY_DATA_DIR; need PORT; need RABBITMQ_USER; need RABBITMQ_PASSWORD
server=$(ls /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$server" ] || not_found rabbitmq-server rabbitmq-server

base="$NOTIFY_DATA_DIR/rabbitmq"
mkdir -p "$base/home" "$base/mnesia" "$base/log"
: > "$base/enabled_plugins"
cat > "$base/rabbitmq.conf" <<CONF
loopback_users = none
default_user = $RABBITMQ_USER
default_pass = $RABBITMQ_PASSWORD
CONF

export HOME="$base/home"
export RABBITMQ_NODENAME="notify-$PORT@localhost"
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$PORT"
# Erlang distribution port: the default, NODE_PORT+20000, overflows for high ephemeral ports.
if [ -z "${RABBITMQ_DIST_PORT:-}" ]; then
  if [ "$PORT" -lt 45536 ]; then RABBITMQ_DIST_PORT=$((PORT + 20000)); else RABBITMQ_DIST_PORT=$((PORT - 20000)); fi
fi
export RABBITMQ_DIST_PORT
export RABBITMQ_MNESIA_BASE="$base/mnesia"
export RABBITMQ_LOG_BASE="$base/log"
export RABBITMQ_LOGS=-
export RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins"
export RABBITMQ_CONFIG_FILE="$base/rabbitmq.conf"
export RUNNING_UNDER_SYSTEMD=true
exec "$server"
