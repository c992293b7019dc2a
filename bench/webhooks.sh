#!/usr/bin/env bash
# Webhook deliveries per second from one Worker's dispatcher to a local receiver (same machine, receiver included),
# against real PostgreSQL, Redis and RabbitMQ started from the machine's packages; Release build; prints the median.
# Arguments go to the benchmark: [runs (default 5)] [events per run (default 5000)] [endpoints (default 4)].
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/install-prerequisites.sh >/dev/null
export NOTIFY_TEST_DATA="${TMPDIR:-/tmp}/notify-bench/run-$$"
mkdir -p "$NOTIFY_TEST_DATA"
cleanup() {
  pkill -TERM -f "$NOTIFY_TEST_DATA" 2>/dev/null || true
  rm -rf "$NOTIFY_TEST_DATA"
}
trap cleanup EXIT
dotnet build bench/Notify.Benchmarks.Webhooks/Notify.Benchmarks.Webhooks.csproj -c Release -nologo -v quiet
dotnet bench/Notify.Benchmarks.Webhooks/bin/Release/net10.0/Notify.Benchmarks.Webhooks.dll "$@"
