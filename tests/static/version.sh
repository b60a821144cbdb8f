#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The version is written once, in configure.ac's AC_INIT; every other place
# that names it must agree (docs/versions.md, "Versions"):
#
#   configure.ac             1.0.0, 1.0.0-rc1 (a release), 1.0.0-dev (between
#                            releases)
#   build-aux/op_config.h    what the module, the status page and the start-up
#                            line show, when the tree is configured
#   debian/changelog         its top entry: 1.0.0-1, 1.0.0~rc1-1 (Debian's '~'
#                            for SemVer's '-'), 1.0.0~dev-1; UNRELEASED exactly
#                            for a -dev version
#   NEWS.md                  its top entry: "## 1.0.0-rc1 (2026-12-24)" for that
#                            release; for 1.0.0-dev, the entry of the release
#                            being prepared, "## 1.0.0 (unreleased)" or
#                            "## 1.0.0-rcN (unreleased)"
#
# and NEWS.md and debian/changelog list the same released versions.  A
# release tarball has no debian/: only the rest is checked there.
set -eu
: "${OP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${OP_BUILDDIR:=$OP_SRCDIR}"
cd "$OP_SRCDIR"

failures=0
fail() {
    echo "version: $*" >&2
    failures=$((failures + 1))
}

# SemVer's 1.0.0-rc1 in Debian's spelling, 1.0.0~rc1, and back.
to_debian() { echo "$1" | sed 's/-/~/'; }
from_debian() { echo "$1" | sed 's/~/-/'; }

version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' configure.ac)
if [ -z "$version" ]; then
    echo "version: no AC_INIT([mod_orthanc_proxy], [VERSION] ...) in configure.ac" >&2
    exit 1
fi
if ! echo "$version" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+|-dev)?'; then
    fail "configure.ac: '$version' is not MAJOR.MINOR.PATCH, with -rcN for a" \
         "release candidate or -dev between releases"
fi
base=${version%%-*}
case $version in
    *-dev) dev=1 ;;
    *) dev=0 ;;
esac
said="configure.ac $version"

# ------------------------------------------------------ the configured tree
header="$OP_BUILDDIR/build-aux/op_config.h"
if [ -f "$header" ]; then
    built=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$header")
    if [ "$built" != "$version" ]; then
        fail "$header says $built: configure again (autoreconf -fi && ./configure)"
    else
        said="$said, op_config.h"
    fi
fi

# ------------------------------------------------------------------ NEWS.md
# "VERSION STATE" per "## " heading, newest first.
news=$(sed -n 's/^## \([^ ]*\) (\(.*\))[[:space:]]*$/\1 \2/p' NEWS.md)
top_news=$(echo "$news" | sed -n 1p)
top_news_version=${top_news%% *}
top_news_state=${top_news#* }
other=$(grep '^## ' NEWS.md | grep -v -E '^## [^ ]+ \(.*\)[[:space:]]*$' || true)
if [ -n "$other" ]; then
    fail "NEWS.md: headings not of the form '## VERSION (YYYY-MM-DD)'," \
         "'## VERSION (unreleased)' or '## VERSION (not released)': $other"
fi
if [ -z "$top_news" ]; then
    fail "NEWS.md has no entry; add '## $version (unreleased)' at its top"
elif [ "$dev" -eq 1 ]; then
    case $top_news_version in
        "$base" | "$base"-rc*) ;;
        *) fail "NEWS.md: its top entry is $top_news_version; between releases" \
                "($version) it is the release being prepared: $base or $base-rcN" ;;
    esac
    if [ "$top_news_state" != unreleased ]; then
        fail "NEWS.md: its top entry, $top_news_version, says" \
             "'$top_news_state'; it is not released yet: '(unreleased)'"
    fi
    said="$said, NEWS.md $top_news_version (unreleased)"
else
    if [ "$top_news_version" != "$version" ]; then
        fail "NEWS.md: its top entry is $top_news_version, not $version:" \
             "add '## $version (YYYY-MM-DD)' at its top"
    elif ! echo "$top_news_state" | grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}'; then
        fail "NEWS.md: the entry of $version says '$top_news_state', not" \
             "its release date (YYYY-MM-DD)"
    fi
    said="$said, NEWS.md $top_news_version ($top_news_state)"
fi
duplicates=$(echo "$news" | awk '{ print $1 }' | sort | uniq -d)
if [ -n "$duplicates" ]; then
    fail "NEWS.md: more than one entry for $duplicates"
fi

# --------------------------------------------------------- debian/changelog
if [ -f debian/changelog ]; then
    # "VERSION DISTRIBUTION" per entry, newest first.
    entries=$(sed -n 's/^[a-z0-9][a-z0-9.+-]* (\([^)]*\)) \([^;]*\);.*/\1 \2/p' \
              debian/changelog)
    top=$(echo "$entries" | sed -n 1p)
    top_version=${top%% *}
    top_distribution=${top#* }
    expected=$(to_debian "$version")
    if [ "${top_version%-*}" != "$expected" ] \
       || ! echo "${top_version##*-}" | grep -Eqx '[0-9]+'; then
        fail "debian/changelog: its top entry is $top_version, not" \
             "$expected-N: add an entry (dch -v $expected-1)"
    elif [ "$dev" -eq 1 ] && [ "$top_distribution" != UNRELEASED ]; then
        fail "debian/changelog: $top_version is a development version; its" \
             "distribution is UNRELEASED, not $top_distribution"
    elif [ "$dev" -eq 0 ] && [ "$top_distribution" = UNRELEASED ]; then
        fail "debian/changelog: $top_version is a release; its distribution" \
             "is not UNRELEASED (unstable)"
    fi
    said="$said, debian/changelog $top_version ($top_distribution)"

    # The released versions: debian/changelog's entries that are not
    # UNRELEASED, NEWS.md's that are not "unreleased".
    released_debian=$(echo "$entries" | awk '$2 != "UNRELEASED" { print $1 }' \
                      | sed 's/-[^-]*$//' | while read -r v; do
                          from_debian "$v"; done | sort -u)
    released_news=$(echo "$news" | awk '$2 != "unreleased" { print $1 }' \
                    | sort -u)
    only_debian=$(printf '%s\n' "$released_debian" | grep -vxF -e "$released_news" || true)
    only_news=$(printf '%s\n' "$released_news" | grep -vxF -e "$released_debian" || true)
    if [ -n "$only_debian" ]; then
        fail "debian/changelog has $(echo "$only_debian" | tr '\n' ' ')and NEWS.md" \
             "has no entry for it"
    fi
    if [ -n "$only_news" ]; then
        fail "NEWS.md has $(echo "$only_news" | tr '\n' ' ')and debian/changelog" \
             "has no entry for it"
    fi
fi

if [ "$failures" -gt 0 ]; then
    echo "version: $failures problem(s); the version is set in configure.ac's" \
         "AC_INIT, and scripts/release.sh sets it for a release" >&2
    exit 1
fi
echo "version: $said"
