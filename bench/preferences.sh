#!/usr/bin/env bash
# Single-threaded preference resolutions per second from the cache (target: at least 100,000/s), Release build,
# against real PostgreSQL and Redis started from the machine's packages; prints the median of the runs.
# Arguments go to the benchmark: [runs (default 5)] [resolutions per run (default 500000)].
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/install-prerequisites.sh >/dev/null
export NOTIFY_TEST_DATA="${TMPDIR:-/tmp}/notify-bench/run-$$"
mkdir -p "$NOTIFY_TEST_DATA"
trap 'pkill -TERM -f "$NOTIFY_TEST_DATA" 2>/dev/null || true; sleep 1; rm -rf "$NOTIFY_TEST_DATA"' EXIT
dotnet build bench/Notify.Benchmarks.Preferences/Notify.Benchmarks.Preferences.csproj -c Release -nologo -v quiet
dotnet bench/Notify.Benchmarks.Preferences/bin/Release/net10.0/Notify.Benchmarks.Preferences.dll "$@"
