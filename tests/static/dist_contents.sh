#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The release tarball holds every file git tracks, but the ones kept out on
# purpose (the Debian packaging and its test, the release script, CI and
# git's own files): a file missing from EXTRA_DIST is caught here, without
# running the whole test suite again from the tarball.
#   tests/static/dist_contents.sh TARBALL     (run from a git checkout)
set -eu
tarball=$1
cd "$(dirname "$0")/../.."

expected=$(mktemp)
found=$(mktemp)
trap 'rm -f "$expected" "$found"' EXIT

git ls-files \
    | grep -v -E '^(debian/|tests/package/|scripts/build-deb\.sh$|scripts/release\.sh$|\.ci/|\.gitignore$)' \
    | sort > "$expected"
tar -tzf "$tarball" | sed -e 's|^[^/]*/||' -e '/\/$/d' -e '/^$/d' | sort > "$found"

missing=$(comm -23 "$expected" "$found")
if [ -n "$missing" ]; then
    echo "dist_contents: tracked files missing from $tarball (add them to EXTRA_DIST in Makefile.am):" >&2
    echo "$missing" >&2
    exit 1
fi
echo "dist_contents: $(wc -l < "$expected") tracked files, all in $tarball"
