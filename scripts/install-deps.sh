#!/bin/sh
# Installs, from Debian's archive, what building, testing and the demo need.
# Only missing packages are installed; nothing is configured or started.
#   scripts/install-deps.sh            build + tests + demo
#   scripts/install-deps.sh --extra    also the fuzzing and benchmark tools
set -eu

PACKAGES="
  gcc make autoconf automake libtool pkg-config
  apache2 apache2-dev apache2-utils check
  orthanc orthanc-dicomweb
  python3 python3-pytest python3-requests python3-pydicom
  curl ca-certificates
  cppcheck valgrind clang libclang-rt-14-dev
  chromium
"
EXTRA_PACKAGES="wrk nghttp2-client nginx"

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
