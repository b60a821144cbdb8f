#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every file of the project says its licence on its first line (after a
# "#!" or "<!doctype" line), in its own comment syntax:
#
#   .c .h .css          /* SPDX-License-Identifier: Apache-2.0 */
#   .js                 // SPDX-License-Identifier: Apache-2.0   (or /* */)
#   .md .html .xml .svg <!-- SPDX-License-Identifier: Apache-2.0 -->
#   anything else       # SPDX-License-Identifier: Apache-2.0
#                       (shell, Python, Makefile.am, configure.ac, Apache
#                       configuration, debian/ files that take comments)
#
# The files are those git tracks, and new ones git would track (not
# ignored), so that a file is caught before its first commit.  Those that
# cannot hold a comment are listed in exempt() below, each with its reason;
# keep that list explicit.
#
#   tests/static/spdx.sh          check (make check runs this)
#   tests/static/spdx.sh --fix    add the line to every file that lacks it
#
# Outside a git checkout (a release tarball) there is no list of files to
# check: the test is skipped (exit 77).
set -eu
: "${OP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
cd "$OP_SRCDIR"

ID='SPDX-License-Identifier: Apache-2.0'

# Files without the line, and why.
exempt() {
    case $1 in
        LICENSE) ;;                  # the licence's own text
        tests/fuzz/corpus/*) ;;      # fuzzer inputs: every byte is data
        debian/changelog) ;;         # dpkg-parsechangelog's format: no comments
        debian/copyright) ;;         # machine-readable (DEP-5); it states the licence
        debian/source/format) ;;     # one line that dpkg-source reads
        *.json | *.dcm | *.png | *.jpg | *.jpeg | *.gif | *.ico | *.webp \
        | *.gz | *.zip) ;;           # data formats that have no comments
        *) return 1 ;;
    esac
    return 0
}

# The line FILE must carry (the first form is the one --fix writes).
lines_for() {
    case $1 in
        *.c | *.h | *.css) echo "/* $ID */" ;;
        *.js) echo "// $ID"; echo "/* $ID */" ;;
        *.md | *.html | *.htm | *.xml | *.svg) echo "<!-- $ID -->" ;;
        *) echo "# $ID" ;;
    esac
}

# Whether the first line of FILE comes before the licence line: an
# interpreter line, an HTML doctype or an XML declaration.
has_preamble() {
    head -n 1 "$1" | grep -qi -e '^#!' -e '^<!doctype' -e '^<?xml'
}

# The line where the licence line must be.
licence_line() {
    if has_preamble "$1"; then
        sed -n 2p "$1"
    else
        sed -n 1p "$1"
    fi
}

fix=0
case ${1:-} in
    --fix) fix=1 ;;
    "") ;;
    *) echo "usage: $0 [--fix]" >&2; exit 2 ;;
esac

top=$(git rev-parse --show-toplevel 2>/dev/null || true)
if [ -z "$top" ] || [ "$(cd "$top" && pwd -P)" != "$(pwd -P)" ]; then
    echo "spdx: $(pwd) is not a git checkout: no list of files to check (skipped)"
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/spdx.XXXXXX")
trap 'rm -rf "$work"' EXIT
git ls-files -z --cached --others --exclude-standard \
    | tr '\0' '\n' | sort -u >"$work/files"

checked=0
: >"$work/missing"
while IFS= read -r file; do
    if [ ! -f "$file" ] || [ -L "$file" ]; then
        continue
    fi
    if exempt "$file"; then
        continue
    fi
    checked=$((checked + 1))
    found=$(licence_line "$file")
    if lines_for "$file" | grep -qxF -e "$found"; then
        continue
    fi
    expected=$(lines_for "$file" | head -n 1)
    if [ "$fix" -eq 0 ]; then
        printf '  %s: %s\n' "$file" "$expected" >>"$work/missing"
    elif head -n 10 "$file" | grep -q 'SPDX-License-Identifier'; then
        # A line in the wrong place or form: adding one would make two.
        printf '  %s: %s (fix it by hand)\n' "$file" "$expected" \
            >>"$work/missing"
    else
        if has_preamble "$file"; then
            { sed -n 1p "$file"; echo "$expected"; sed 1d "$file"; } \
                >"$work/new"
        else
            { echo "$expected"; cat "$file"; } >"$work/new"
        fi
        cat "$work/new" >"$file"    # keeps the file's mode
        echo "spdx: added to $file"
    fi
done <"$work/files"

if [ -s "$work/missing" ]; then
    count=$(wc -l <"$work/missing")
    {
        echo "spdx: $count file(s) lack the licence line at their top."
        echo "Put it on the first line (the second after a #! or <!doctype"
        echo "line), in the file's comment syntax, or run tests/static/spdx.sh --fix:"
        cat "$work/missing"
        echo "A file that cannot hold a comment (data) goes into exempt() in"
        echo "tests/static/spdx.sh, with its reason."
    } >&2
    exit 1
fi
echo "spdx: $checked files carry '$ID'"
