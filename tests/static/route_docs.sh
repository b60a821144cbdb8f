#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The manual's route table (docs/access.md) must be the one the module uses.
#   route_docs.sh            check (make check runs this)
#   route_docs.sh --update   rewrite the table in docs/access.md
set -eu
: "${OP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${OP_BUILDDIR:=$OP_SRCDIR}"
readme="$OP_SRCDIR/docs/access.md"
begin='<!-- route-table:begin'
end='<!-- route-table:end -->'
generated=$(mktemp)
current=$(mktemp)
trap 'rm -f "$generated" "$current"' EXIT

"$OP_BUILDDIR/tests/tools/route_tool" --markdown > "$generated"
sed -n "/^$begin/,/^$end/{/^<!--/d;p}" "$readme" > "$current"

if [ "${1:-}" = "--update" ]; then
    updated=$(mktemp)
    awk -v table="$generated" -v b="$begin" -v e="$end" '
        index($0, b) == 1 { print; while ((getline line < table) > 0) print line; skip = 1; next }
        index($0, e) == 1 { skip = 0 }
        !skip { print }' "$readme" > "$updated"
    cat "$updated" > "$readme"
    rm -f "$updated"
    echo "route_docs: docs/access.md updated"
elif ! diff -u "$current" "$generated"; then
    echo "route_docs: docs/access.md's route table is out of date;" \
         "run tests/static/route_docs.sh --update" >&2
    exit 1
fi
