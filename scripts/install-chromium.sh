#!/usr/bin/env bash
# Install a headless browser (Debian's chromium) from Debian's packages, once.
#
# For tests/test_report_browser.py: it opens the run report (`bin/polymm report`) in headless
# Chromium (`chromium --headless --dump-dom file://...`) and checks the figures and numbers the
# browser sees. Run by `make test` (best effort) and by the test's fixture. Idempotent: when the
# package is in place it only checks it. No chromium-driver: the test drives no WebDriver.
#
# Exit codes: 0 installed (or already there); 3 cannot be installed on this machine (no apt, no
# root, the archive unreachable): the browser test is skipped; 1 installed but broken: a failure.
set -euo pipefail

PACKAGES=(chromium)
CHROMIUM=/usr/bin/chromium
LOG="$(mktemp)"
PROFILE="$(mktemp -d)"
trap 'rm -rf "$LOG" "$PROFILE"' EXIT

cannot() {
    echo "install-chromium: cannot install here: $*" >&2
    exit 3
}

installed() {
    local p
    for p in "${PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
    done
    [ -x "$CHROMIUM" ]
}

check() {
    # What the test runs: a headless dump of a page's DOM (as root, chromium needs --no-sandbox).
    local page="$PROFILE/check.html"
    echo '<html><body><p id="ok">ok</p></body></html>' >"$page"
    if ! timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
            --user-data-dir="$PROFILE/profile" --dump-dom "file://$page" >"$LOG" 2>/dev/null \
            || ! grep -q 'id="ok"' "$LOG"; then
        echo "install-chromium: chromium is installed but cannot dump a page headless:" >&2
        cat "$LOG" >&2
        exit 1
    fi
}

if command -v dpkg-query >/dev/null 2>&1 && installed; then
    check
    echo "install-chromium: chromium already installed"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 || cannot "no apt-get (Debian's chromium is needed)"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        cannot "not root and no password-less sudo (run: sudo apt-get install ${PACKAGES[*]})"
    fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-chromium: apt-get install ${PACKAGES[*]}"
# Bounded: an unreachable mirror must not hang `make test`.
if ! timeout 300 "${SUDO[@]}" apt-get update -qq; then
    cannot "apt-get update failed (archive unreachable?)"
fi
if ! timeout 900 "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" \
        >"$LOG" 2>&1; then
    tail -n 20 "$LOG" >&2
    cannot "apt-get install ${PACKAGES[*]} failed (see above)"
fi
installed || { echo "install-chromium: apt-get succeeded but chromium is not installed" >&2; exit 1; }
check
echo "install-chromium: chromium installed"
