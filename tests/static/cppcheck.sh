#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Static analysis of every C file of the module and its tests: cppcheck must
# report nothing.  varFuncNullUB is suppressed: APR's variadic functions
# (apr_pstrcat, apr_table_do) are documented to end with NULL, which is
# ((void *)0) on every platform httpd supports.
set -eu
: "${OP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${OP_APACHE_INCLUDES:=/usr/include/apache2}"
cd "$OP_SRCDIR"
# shellcheck disable=SC2046
exec cppcheck --quiet --error-exitcode=1 --inline-suppr --std=c99 \
    --enable=warning,style,performance,portability \
    --suppress=missingIncludeSystem --suppress=unusedFunction \
    --suppress=varFuncNullUB --suppress=toomanyconfigs \
    -I. -Ilogic -I"$OP_APACHE_INCLUDES" $(apr-1-config --includes) \
    ./*.c logic/*.c apache/*.c apache/*/*.c support/*.c tests/unit/*.c tests/tools/*.c tests/fuzz/*.c \
    tests/e2e/*.c
