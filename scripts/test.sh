#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The whole test suite in one command, on a fresh Debian 12 as root:
# installs what is missing, builds with warnings as errors, checks the code
# with cppcheck, runs `make check` (Check unit tests, the same under
# valgrind, the bounded fuzzing run, and the end-to-end tests with a real
# Apache and a real Orthanc), the end-to-end tests again against the newer
# Orthancs of the version matrix, then `make distcheck`, then builds the Debian
# package and tries it in a throwaway Debian root (tests/package/), then
# builds the tarball again with AddressSanitizer and UBSan and runs `make
# check-sanitized` (the unit tests and the end-to-end suite, with the
# sanitizer runtime preloaded into every Apache) against sid's Orthanc.
# Debian 12's Orthanc gets the whole suite, Debian 13's the Orthanc-facing
# tests and sid's the whole suite again: the version matrix within CI's time.
set -eu
cd "$(dirname "$0")/.."

# Each stage's start, with the minutes elapsed: CI has an hour.
started=$(date +%s)
stage() {
    echo "test.sh: [$(( ($(date +%s) - started) / 60 )) min] $*"
}

stage "installing what is missing"
scripts/install-deps.sh
# The OHIF Viewer, dicomweb-client and playwright-core, pinned, into a
# cache outside the repository (fetched once).
scripts/install-js.sh
stage "building"
autoreconf -fi
./configure --enable-werror
make -j"$(nproc)"
stage "make check: static checks, unit tests, fuzzing, the end-to-end suite on Debian 12's Orthanc"
if ! make check; then
    cat test-suite.log >&2 || true
    exit 1
fi
# The Orthanc-facing end-to-end tests again against Debian 13's Orthanc
# 1.12.7 (DICOMweb 1.20), from Debian's packages in a root built once with
# mmdebstrap (tests/e2e/orthanc_roots.py); sid's 1.13.0 (DICOMweb 1.24)
# gets the whole suite below, with the sanitized module.
stage "the Orthanc-facing tests on Debian 13's Orthanc"
make check-orthanc-matrix OP_ORTHANC_MATRIX=trixie
sid_root=$(/usr/bin/python3 tests/e2e/orthanc_roots.py sid)
# distcheck builds the tarball, installs and uninstalls it, and tests it
# again.  Everything has just passed above from this tree, so its second
# pass is the static checks, the unit tests and a smoke subset of the
# end-to-end suite (the mapping tests: the harness, the module and a real
# Apache and Orthanc from the tarball); that every tracked file is in the
# tarball is checked file by file instead (tests/static/dist_contents.sh).
stage "make distcheck"
make distcheck OP_PYTEST_ARGS="-q -k test_mapping" \
    TESTS="tests/static/cppcheck.sh tests/static/layering.sh tests/unit/unit_tests tests/e2e/run_e2e"
distdir="$(sed -n 's/^PACKAGE_TARNAME = //p' Makefile)-$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)"
tarball="$distdir.tar.gz"
if [ -d .git ]; then
    tests/static/dist_contents.sh "$tarball"
fi
# The Debian package, built from the tarball distcheck has just checked,
# linted, and installed into a throwaway Debian root (tests/package/).  The
# packaging lives in the repository only, not in the release tarball.
if [ -d debian ]; then
    stage "the Debian package"
    tests/package/run_package_test --tarball "$tarball"
else
    echo "test.sh: no debian/ here (a release tarball): no package to test"
fi

# The sanitized build, from the same tarball, in a directory of its own
# (the source tree stays configured as above).  Apache's children run as
# nobody and symbolise their reports from the module's file: the directory
# must be readable by everybody.
sanitized=$(mktemp -d "${TMPDIR:-/tmp}/mod_orthanc_proxy-sanitized.XXXXXX")
trap 'rm -rf "$sanitized"' EXIT
chmod 755 "$sanitized"
stage "the sanitized build, the whole suite on sid's Orthanc"
tar -xzf "$tarball" -C "$sanitized"
cd "$sanitized/$distdir"
./configure --enable-werror --enable-sanitizers
make -j"$(nproc)"
if ! make check-sanitized OP_ORTHANC_ROOT="$sid_root"; then
    cat test-suite.log >&2 || true
    exit 1
fi
stage "all tests passed"
