#!/usr/bin/env bash
# Install the npm StatsD daemon (Etsy's statsd) into .statsd/ (git-ignored), once.
#
# Used by `make statsd` and by tests/test_e2e_statsd.py. Idempotent: a matching version already
# in place is left alone. Needs node and npm; exits 3 when either is missing.
set -euo pipefail

STATSD_VERSION="0.9.0"   # `npm view statsd version`, pinned
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${STATSD_DIR:-$ROOT/.statsd}"
PKG="$DEST/node_modules/statsd/package.json"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install-statsd: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 3
fi

if [ -f "$PKG" ] && node -e "process.exit(require('$PKG').version === '$STATSD_VERSION' ? 0 : 1)"; then
    echo "install-statsd: statsd $STATSD_VERSION already in $DEST"
    exit 0
fi

mkdir -p "$DEST"
# --omit=optional skips modern-syslog (a native module only the syslog backend uses).
npm install --prefix "$DEST" --no-audit --no-fund --no-save --omit=optional --loglevel=error \
    "statsd@$STATSD_VERSION"
node -e "require('$PKG')" >/dev/null
echo "install-statsd: statsd $STATSD_VERSION installed in $DEST"
