#!/usr/bin/env bash
# The send API and the dispatch pipeline on this machine: API, Worker and migration step as Release processes, real
# PostgreSQL, Redis and RabbitMQ from the machine's packages, a minimal SMTP sink in the benchmark. Prints the machine's
# ceilings (Kestrel 202 with no I/O, one PostgreSQL insert per request), accepted sends/s (single and batch), delivered/s
# per channel over up to 60 s, and accept->sent latency at a steady offered rate; medians of the runs, then a summary.
# Arguments go to the benchmark: [runs (default 3)] [seconds per accept run (default 10)] [offered rate for latency (default 500)]
# [phases: all (default), or accept for the ceilings and accepted sends only].
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/install-prerequisites.sh >/dev/null
export NOTIFY_TEST_DATA="${TMPDIR:-/tmp}/notify-bench/run-$$"
mkdir -p "$NOTIFY_TEST_DATA"
cleanup() {
  pkill -TERM -f "$NOTIFY_TEST_DATA" 2>/dev/null || true
  # The API's and Worker's logs of the last run stay for a look afterwards.
  rm -rf "${TMPDIR:-/tmp}/notify-bench/last-logs"
  mv "$NOTIFY_TEST_DATA/logs" "${TMPDIR:-/tmp}/notify-bench/last-logs" 2>/dev/null || true
  rm -rf "$NOTIFY_TEST_DATA"
}
trap cleanup EXIT
for project in Notify.Migrations Notify.Api Notify.Worker bench/Notify.Benchmarks.Delivery; do
  dotnet build "$project" -c Release -nologo -v quiet
done
dotnet bench/Notify.Benchmarks.Delivery/bin/Release/net10.0/Notify.Benchmarks.Delivery.dll "$@"
