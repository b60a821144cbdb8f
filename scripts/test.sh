#!/bin/sh
# The whole test suite in one command, on a fresh Debian 12 as root:
# installs what is missing, builds with warnings as errors, checks the code
# with cppcheck, runs `make check` (Check unit tests, the same under
# valgrind, the bounded fuzzing run, and the end-to-end tests with a real
# Apache and a real Orthanc), then `make distcheck`, then builds the Debian
# package and tries it in a throwaway Debian root (tests/package/).
set -eu
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# The OHIF Viewer, dicomweb-client and playwright-core, pinned, into a
# cache outside the repository (fetched once).
scripts/install-js.sh
autoreconf -fi
./configure --enable-werror
make -j"$(nproc)"
if ! make check; then
    cat test-suite.log >&2 || true
    exit 1
fi
# distcheck builds and tests the tarball again; the full-size 2 GB streaming
# tests and the long fuzzing run have just passed above, so its second pass
# uses 300 MB transfers and a 10 s fuzzing run.
make distcheck OP_STREAMING_BYTES=300000000 OP_FUZZ_SECONDS=10
# The Debian package, built from the tarball distcheck has just checked,
# linted, and installed into a throwaway Debian root (tests/package/).  The
# packaging lives in the repository only, not in the release tarball.
if [ -d debian ]; then
    tests/package/run_package_test --tarball \
        "$(sed -n 's/^PACKAGE_TARNAME = //p' Makefile)-$(sed -n 's/^PACKAGE_VERSION = //p' Makefile).tar.gz"
else
    echo "test.sh: no debian/ here (a release tarball): no package to test"
fi
echo "test.sh: all tests passed"
