#!/usr/bin/env bash
# Install a headless browser (Debian's chromium) from Debian's packages, once.
#
# For tests/test_report_browser.py: it opens the run report (`bin/polymm report`) in headless
# Chromium (`chromium --headless --dump-dom file://...`) and checks the figures and numbers the
# browser sees. Run by `make test` (best effort) and by the test's fixture. Idempotent: when the
# package is in place it only checks it. No chromium-driver: the test drives no WebDriver.
#
# Exit codes as scripts/debian-install.sh says: 3 (cannot install here) skips the browser test.
set -euo pipefail

NAME=chromium
WHAT="chromium"
# shellcheck source=scripts/debian-install.sh
source "$(dirname "$0")/debian-install.sh"

PACKAGES=(chromium)
CHROMIUM=/usr/bin/chromium
LOG="$(mktemp)"
PROFILE="$(mktemp -d)"
trap 'rm -rf "$LOG" "$PROFILE"' EXIT

installed() {
    packages_installed || return 1
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

debian_install 900
