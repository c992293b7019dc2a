#!/usr/bin/env bash
# Runs Notify: installs what is missing, then starts the Aspire AppHost (dashboard, infrastructure, API, Worker).
# Stop it with Ctrl+C (or SIGTERM); every server it started stops with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash eng/install-prerequisites.sh
exec dotnet run --project Notify.AppHost --launch-profile http "$@"
