#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The fuzzer as a test of `make check`: a bounded run (OP_FUZZ_SECONDS,
# default 60) in a fresh directory outside the source tree.
set -eu
: "${OP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
build=$(mktemp -d "${TMPDIR:-/tmp}/mod_orthanc_proxy-fuzz-check.XXXXXX")
trap 'rm -rf "$build"' EXIT
"$OP_SRCDIR/tests/fuzz/run_fuzz.sh" "$build" "${OP_FUZZ_SECONDS:-60}"
