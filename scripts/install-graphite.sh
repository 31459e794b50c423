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
# Exit codes: 0 installed (or already there); 3 cannot be installed on this machine (no apt, no
# root, the archive unreachable): the tier is skipped; 1 installed but broken: a failure.
set -euo pipefail

PACKAGES=(graphite-carbon graphite-web)
SYSTEM_PYTHON=/usr/bin/python3
CARBON_CACHE=/usr/bin/carbon-cache
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

cannot() {
    echo "install-graphite: cannot install here: $*" >&2
    exit 3
}

installed() {
    local p
    for p in "${PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
    done
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

if command -v dpkg-query >/dev/null 2>&1 && installed; then
    check
    echo "install-graphite: graphite-carbon and graphite-web already installed"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || cannot "no apt-get (Debian's graphite-carbon and graphite-web are needed)"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        cannot "not root and no password-less sudo (run: sudo apt-get install ${PACKAGES[*]})"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-graphite: apt-get install ${PACKAGES[*]}"
# Bounded: an unreachable mirror must not hang `make test`.
if ! timeout 300 "${SUDO[@]}" apt-get update -qq; then
    cannot "apt-get update failed (archive unreachable?)"
fi
if ! timeout 600 "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" \
        >"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    cannot "apt-get install ${PACKAGES[*]} failed (see above)"
fi
installed || { echo "install-graphite: apt-get succeeded but the packages are not installed" >&2; exit 1; }
check
echo "install-graphite: graphite-carbon and graphite-web installed"
