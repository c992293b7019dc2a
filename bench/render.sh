#!/usr/bin/env bash
# Single-threaded render throughput of a typical email, Release build; prints the median renders/s of each case.
# Arguments go to the benchmark: [runs (default 5)] [renders per run (default 50000)].
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build bench/Notify.Benchmarks/Notify.Benchmarks.csproj -c Release -nologo -v quiet
exec dotnet bench/Notify.Benchmarks/bin/Release/net10.0/Notify.Benchmarks.dll "$@"
