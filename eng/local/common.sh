# Shared by the local server scripts. Each script is started with the variables it documents,
# prepares its data under NOTIFY_DATA_DIR, then execs the server so that it receives SIGTERM itself.
set -euo pipefail

need() { # need VAR: fail clearly when a required variable is missing
  if [ -z "${!1:-}" ]; then echo "$0: $1 is not set" >&2; exit 64; fi
}

not_found() { # not_found WHAT PACKAGE
  echo "$1 not found: run eng/install-prerequisites.sh (it runs apt-get install $2)" >&2
  exit 127
}
