#!/usr/bin/env bash
# Install Graphite (carbon-cache + whisper + graphite-web) from Debian's packages, once.
#
# For tests/test_e2e_graphite.py (the metrics tier: npm StatsD daemon -> carbon-cache ->
# graphite-web's render API) and a local metrics stack. Run by `make test` (best effort) and by
# the test's fixture. Idempotent: when the packages are in place it only checks them.
#
# Debian's graphite-web 1.1 runs on the system python3 (/usr/bin/python3, with Debian's
# Django), so nothing goes into the project's .venv. Installing starts no service: the Debian
# package leaves carbon-cache disabled (CARBON_CACHE_ENABLED=false in
# /etc/default/graphite-carbon), and the test starts its own carbon and graphite-web with config
# and data in a per-run temp dir.
#
# Exit codes as scripts/debian-install.sh says: 3 (cannot install here) skips the tier.
set -euo pipefail

NAME=graphite
WHAT="graphite-carbon and graphite-web"
# shellcheck source=scripts/debian-install.sh
source "$(dirname "$0")/debian-install.sh"

PACKAGES=(graphite-carbon graphite-web)
SYSTEM_PYTHON=/usr/bin/python3
CARBON_CACHE=/usr/bin/carbon-cache
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

installed() {
    packages_installed || return 1
    [ -x "$CARBON_CACHE" ] && [ -x "$SYSTEM_PYTHON" ]
}

check() {
    # What the test runs: carbon-cache, and graphite-web's WSGI app on the system python.
    if ! "$SYSTEM_PYTHON" -c 'import carbon, whisper, graphite.settings, django' >"$LOG" 2>&1; then
        echo "install-graphite: packages installed but graphite-web does not import:" >&2
        cat "$LOG" >&2
        exit 1
    fi
}

debian_install 600
