#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs, from Debian's archive, what building, testing and the demo need
# (and building and testing the Debian package: debhelper ... mmdebstrap).
# Only missing packages are installed; nothing is configured or started.
#   scripts/install-deps.sh            build + tests + demo
#   scripts/install-deps.sh --extra    also the fuzzing and benchmark tools
set -eu

PACKAGES="
  gcc make autoconf automake libtool pkg-config
  apache2 apache2-dev apache2-utils check libcurl4-openssl-dev
  rsyslog rsyslog-gnutls slapd ldap-utils
  orthanc orthanc-dicomweb orthanc-postgresql postgresql
  python3 python3-pytest python3-requests python3-pydicom
  curl ca-certificates
  cppcheck valgrind clang libclang-rt-14-dev llvm
  chromium
  openssl nginx nghttp2-client
  debhelper dpkg-dev lintian mmdebstrap gpg
"
EXTRA_PACKAGES="wrk linux-perf"

if [ "${1:-}" = "--extra" ]; then
    PACKAGES="$PACKAGES $EXTRA_PACKAGES"
fi

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null \
            | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

# node and npm (scripts/install-js.sh, the browser tests): the machine's own
# Node.js if it has one (it may come from elsewhere than Debian and provide
# npm itself), else Debian's.
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

if [ -z "$missing" ]; then
    echo "install-deps: every package is installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing:$missing; run as root to install them" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
