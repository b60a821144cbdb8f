#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The unit tests again, under valgrind: no invalid access, no leak.
set -eu
: "${OP_BUILDDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
if [ -n "${OP_SANITIZER_PRELOAD:-}" ]; then
    echo "valgrind cannot run the ASan-instrumented unit tests (--enable-sanitizers)"
    exit 77
fi
CK_FORK=no exec valgrind --quiet --error-exitcode=1 --leak-check=full \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    "$OP_BUILDDIR/tests/unit/unit_tests"
