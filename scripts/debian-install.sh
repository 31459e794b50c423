# Installing Debian packages for a test tier, once; sourced by scripts/install-*.sh.
#
# The caller sets NAME (for messages), PACKAGES, LOG (a temp file) and WHAT (the packages, for
# messages), and defines `installed` (0 when every package and file is in place: see
# `packages_installed`) and `check`
# (what its test needs works, else exit 1). Then `debian_install TIMEOUT_S`.
#
# Exit codes: 0 installed (or already there); 3 cannot be installed on this machine (no apt, no
# root, the archive unreachable): the tier is skipped; 1 installed but broken: a failure.

packages_installed() {
    local p
    for p in "${PACKAGES[@]}"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
    done
}

cannot() {
    echo "install-$NAME: cannot install here: $*" >&2
    exit 3
}

debian_install() {
    local timeout_s=$1
    if command -v dpkg-query >/dev/null 2>&1 && installed; then
        check
        echo "install-$NAME: $WHAT already installed"
        exit 0
    fi
    command -v apt-get >/dev/null 2>&1 || cannot "no apt-get (Debian's $WHAT needed)"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            cannot "not root and no password-less sudo (run: sudo apt-get install ${PACKAGES[*]})"
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    echo "install-$NAME: apt-get install ${PACKAGES[*]}"
    # Bounded: an unreachable mirror must not hang `make test`.
    if ! timeout 300 "${sudo[@]}" apt-get update -qq; then
        cannot "apt-get update failed (archive unreachable?)"
    fi
    if ! timeout "$timeout_s" "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
            "${PACKAGES[@]}" >"$LOG" 2>&1; then
        tail -n 20 "$LOG" >&2
        cannot "apt-get install ${PACKAGES[*]} failed (see above)"
    fi
    installed || { echo "install-$NAME: apt-get succeeded but $WHAT is not installed" >&2; exit 1; }
    check
    echo "install-$NAME: $WHAT installed"
}
