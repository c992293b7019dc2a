#!/usr/bin/env bash
# Runs the whole test suite against real PostgreSQL, Redis, RabbitMQ and smtp4dev started from the
# machine's packages. Installs what is missing first. Extra arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/install-prerequisites.sh

# Servers the tests start keep their data under this folder; anything still running from it when the
# run ends (a crashed test host, say) is stopped here, so no run leaves servers behind.
export NOTIFY_TEST_DATA="${TMPDIR:-/tmp}/notify-tests/run-$$"
mkdir -p "$NOTIFY_TEST_DATA"
log="$NOTIFY_TEST_DATA.log"
cleanup() {
  pkill -TERM -f "$NOTIFY_TEST_DATA" 2>/dev/null || true
  sleep 1
  pkill -KILL -f "$NOTIFY_TEST_DATA" 2>/dev/null || true
  rm -rf "$NOTIFY_TEST_DATA"
}
trap cleanup EXIT

dotnet build Notify.sln -c Release -warnaserror -v quiet -nologo
set +e
dotnet test Notify.sln -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line for the whole suite, summed over the test projects.
grep -E '^(Passed|Failed)! ' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/' \
  | awk '{f+=$1; p+=$2; s+=$3} END {printf "%d passed, %d failed, %d skipped\n", p, f, s}'
rm -f "$log"
exit "$status"
