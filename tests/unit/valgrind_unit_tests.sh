#!/bin/sh
# The unit tests again, under valgrind: no invalid access, no leak.
set -eu
: "${OP_BUILDDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
CK_FORK=no exec valgrind --quiet --error-exitcode=1 --leak-check=full \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    "$OP_BUILDDIR/tests/unit/unit_tests"
