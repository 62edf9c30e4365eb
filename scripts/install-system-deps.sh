#!/usr/bin/env bash
# Install the Debian packages that the test suite needs, when they are missing.
#
# Usage: scripts/install-system-deps.sh [PACKAGE...]
#   With no arguments, installs what `make test` needs: Chromium for the browser tests
#   (driven by Playwright at /usr/bin/chromium), a font for it to render text with,
#   PostgreSQL's server binaries for the PostgreSQL run of the suite, and redis-server
#   for the shared rate-limit counts (the tests start a throwaway server of their own on
#   a free port, tests/redis.py; the packaged service on port 6379 is not used).
#   `make venv` calls it with python3-venv on a Debian whose python3 lacks ensurepip.
#
# PostgreSQL: the tests start a throwaway server of their own (tests/postgres.py), so the
# cluster that Debian's package would create and start ("main", port 5432) is not wanted:
# postgresql-common goes in first, its createcluster.conf gets create_main_cluster = false,
# then the server package (the official postgres Docker image does the same).
#
# Idempotent and quiet: prints nothing when every package is already installed. It runs
# `apt-get update` only when a package has no install candidate in the current lists, or
# when installing from them failed (lists old enough to name files the mirror dropped).
# Any failure prints apt's output and exits non-zero: a missing browser must fail the
# build here, not turn into skipped tests later.
set -euo pipefail

if [[ $# -gt 0 ]]; then
    packages=("$@")
else
    # --no-install-recommends keeps Chromium's desktop extras (upower, printing, ...) out,
    # and with them its recommended fonts: name one so pages and screenshots have text.
    # libatomic1: the Node.js that Playwright's wheel bundles as its driver links to it,
    # and a bare Debian lacks it (a machine with gcc has it).
    packages=(chromium fonts-liberation libatomic1 postgresql redis-server)
fi

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for package in "${packages[@]}"; do
    is_installed "$package" || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
    exit 1
fi

sudo=()
if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo --non-interactive)
    else
        echo "install-system-deps: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

apt() {
    # Wait for another apt/dpkg (e.g. unattended-upgrades) instead of failing on its lock.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -q -o DPkg::Lock::Timeout=300 "$@" >>"$log" 2>&1
}

fail() {
    echo "install-system-deps: $1" >&2
    cat "$log" >&2
    exit 1
}

update() {
    # A broken third-party source makes `apt-get update` exit non-zero while Debian's
    # lists did refresh; the install that follows is the real test, so only warn here.
    apt update || echo "install-system-deps: warning: apt-get update reported errors" >&2
}

has_candidate() {
    local candidate
    candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [[ -n "$candidate" && "$candidate" != "(none)" ]]
}

updated=0

install_packages() {
    local package install
    for package in "$@"; do
        if [[ $updated -eq 0 ]] && ! has_candidate "$package"; then
            update
            updated=1
        fi
    done
    install=(install -y --no-install-recommends "$@")
    if ! apt "${install[@]}"; then
        [[ $updated -eq 1 ]] && fail "apt-get install failed for: $*"
        update
        updated=1
        apt "${install[@]}" || fail "apt-get install failed for: $*"
    fi
    for package in "$@"; do
        is_installed "$package" || fail "$package is still not installed after apt-get install"
    done
}

echo "install-system-deps: installing ${missing[*]}" >&2
for package in "${missing[@]}"; do
    if [[ "$package" == postgresql ]]; then
        is_installed postgresql-common || install_packages postgresql-common
        "${sudo[@]}" sed -ri 's/^#?\s*(create_main_cluster)\s*=.*$/\1 = false/' \
            /etc/postgresql-common/createcluster.conf ||
            fail "could not turn off create_main_cluster in createcluster.conf"
    fi
done
install_packages "${missing[@]}"
