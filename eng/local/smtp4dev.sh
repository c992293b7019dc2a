#!/usr/bin/env bash
# smtp4dev: SMTP sink with a web UI and REST API. Env: NOTIFY_DATA_DIR, SMTP_PORT, HTTP_PORT,
# optional MESSAGES_TO_KEEP (smtp4dev's default 100 is too few for the fault tests' 1,000 messages).
source "$(dirname "$0")/common.sh"
need NOTIFY_DATA_DIR; need SMTP_PORT; need HTTP_PORT
root="$(cd "$(dirname "$0")/../.." && pwd)"
version=$(sed -n '/rnwood.smtp4dev/,/version/ s/.*"version": *"\([^"]*\)".*/\1/p' "$root/.config/dotnet-tools.json")
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
exe="$packages/rnwood.smtp4dev.linux-x64/$version/tools/net10.0/linux-x64/Rnwood.Smtp4dev"
[ -x "$exe" ] || { echo "smtp4dev $version not found: run eng/install-prerequisites.sh (it runs dotnet tool restore)" >&2; exit 127; }
mkdir -p "$NOTIFY_DATA_DIR/smtp4dev"
cd "$NOTIFY_DATA_DIR/smtp4dev"
exec "$exe" --urls="http://127.0.0.1:$HTTP_PORT" --smtpport="$SMTP_PORT" --imapport="" --pop3port="" \
  --db="$NOTIFY_DATA_DIR/smtp4dev/smtp4dev.db" --nousersettings --hostname=localhost \
  --messagestokeep="${MESSAGES_TO_KEEP:-100}"
