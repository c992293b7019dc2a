#!/usr/bin/env bash
# Installs what Notify needs on a fresh Debian 12 machine: the servers the AppHost and the tests run
# locally when no container engine is available, Chromium for the browser tests, Node for the Web Push check, the
# .NET local tools (smtp4dev, dotnet-ef) and that check's npm package.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
command -v redis-server >/dev/null || missing+=(redis-server)
ls /usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server >/dev/null 2>&1 || missing+=(rabbitmq-server)
command -v setpriv >/dev/null || missing+=(util-linux)
# The browser the end-to-end tests drive through Playwright (never a downloaded one).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Node runs the independent Web Push decryption (the http_ece package) the Delivery tests check against.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Installing starts no service without systemd: the AppHost and tests start each server themselves.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# On a fresh package cache the SDK's tool restore now and then mixes up the tools' packages ("The command dotnet-ef ...
# is not contained in the package"); a second run, with the packages now cached, restores them.
dotnet tool restore >/dev/null || dotnet tool restore >/dev/null
webpush_check=tests/Notify.Delivery.Tests/WebPushCheck
[ -d "$webpush_check/node_modules/http_ece" ] || npm ci --prefix "$webpush_check" --no-audit --no-fund --silent
echo "Prerequisites ready."
