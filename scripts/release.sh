#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A release in one command (docs/versions.md, "Releasing"):
#
#   scripts/release.sh [--skip-tests] [--out DIR] VERSION
#
# VERSION is MAJOR.MINOR.PATCH, or MAJOR.MINOR.PATCH-rcN for a release
# candidate.  From a clean git checkout whose NEWS.md has an entry for
# VERSION at its top ("## VERSION (unreleased)"), as root on Debian 12 like
# CI, it:
#
#   1. sets the version: configure.ac's AC_INIT, the top entry of
#      debian/changelog (VERSION in Debian's spelling, 1.0.0~rc1-1, for
#      unstable, dated now: the UNRELEASED entry of the development version
#      becomes it, or a new entry is added) and the date of NEWS.md's entry;
#   2. runs CI's test command, scripts/test.sh (about 40 minutes), on the
#      tree as it will be released;
#   3. builds the release tarball with make distcheck (its second pass is
#      the smoke subset scripts/test.sh uses) and checks that it holds every
#      file git tracks (tests/static/dist_contents.sh);
#   4. builds the Debian package from that tarball, lintian clean
#      (scripts/build-deb.sh);
#   5. writes them to DIR, by default release/VERSION/: the tarball, the
#      Debian files under deb/, SHA256SUMS of all of them, and the logs
#      under logs/;
#   6. commits the three files as "Release VERSION" and tags that commit
#      vVERSION (an annotated tag).  Nothing is pushed: publishing the
#      commit, the tag and the files is the releaser's next step.
#
# --skip-tests leaves out step 2, for rehearsals, and says so loudly: the
# files are made the same way, DIR holds a file UNTESTED, and nothing is
# committed or tagged (the version files are put back as they were).
# Whatever step fails, the version files are put back and nothing is
# committed.
set -eu

usage() {
    echo "usage: $0 [--skip-tests] [--out DIR] VERSION" >&2
    echo "  VERSION: MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH-rcN" >&2
    exit 2
}

skip_tests=0
out=""
version=""
while [ $# -gt 0 ]; do
    case $1 in
        --skip-tests) skip_tests=1; shift ;;
        --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
        -*) usage ;;
        *) [ -z "$version" ] || usage; version=$1; shift ;;
    esac
done
[ -n "$version" ] || usage

case $out in
    "" | /*) ;;
    *) out="$(pwd)/$out" ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

die() {
    echo "release: $*" >&2
    exit 1
}

warn_untested() {
    cat >&2 <<EOF

!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!!
!!  WARNING --skip-tests: scripts/test.sh is NOT run.
!!  A rehearsal: the files of $version are made but NOT TESTED,
!!  nothing is committed or tagged.  Never publish them.
!!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!

EOF
}

# ------------------------------------------------------------ what is asked
if ! echo "$version" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+)?'; then
    die "'$version' is not MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH-rcN"
fi
# Debian's spelling: a pre-release's '-' is '~', which sorts before the
# release.
debian_version="$(echo "$version" | sed 's/-/~/')-1"
tarball="mod_orthanc_proxy-$version.tar.gz"
: "${out:=$top/release/$version}"
[ "$skip_tests" -eq 0 ] || warn_untested

# -------------------------------------------------- 0. checks before anything
for tool in git autoreconf make sha256sum dpkg-parsechangelog; do
    command -v "$tool" > /dev/null \
        || die "$tool is missing: run scripts/install-deps.sh"
done
toplevel=$(git rev-parse --show-toplevel 2>/dev/null || true)
if [ -z "$toplevel" ] || [ "$(cd "$toplevel" && pwd -P)" != "$(pwd -P)" ]; then
    die "$top is not a git checkout"
fi
dirty=$(git status --porcelain)
if [ -n "$dirty" ]; then
    echo "$dirty" >&2
    die "the tree is not clean (above): commit or remove these first"
fi
if git rev-parse -q --verify "refs/tags/v$version" > /dev/null; then
    die "the tag v$version exists already"
fi
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
    die "$out exists and is not empty"
fi
case $out/ in
    "$top"/*)
        # Inside the tree, the files must not count as changes (release/ is
        # ignored).
        git check-ignore -q "$out/SHA256SUMS" \
            || die "--out $out is inside the tree and not ignored by git: use" \
                   "release/ (the default) or a directory outside the tree" ;;
esac
if [ "$skip_tests" -eq 0 ]; then
    if [ -z "$(git config user.name)" ] || [ -z "$(git config user.email)" ]; then
        die "git has no user.name or user.email to commit the release with"
    fi
fi

# NEWS.md: an entry for VERSION, the newest.
news_top=$(sed -n 's/^## \([^ ]*\) (.*)[[:space:]]*$/\1/p' NEWS.md | sed -n 1p)
if ! grep -Eq "^## $(echo "$version" | sed 's/\./\\./g') \(.*\)[[:space:]]*$" NEWS.md; then
    die "NEWS.md has no entry for $version: write what it adds, changes and" \
        "fixes under '## $version (unreleased)' at its top, commit it, and" \
        "run this again"
fi
[ "$news_top" = "$version" ] \
    || die "NEWS.md's newest entry is $news_top: the entry for $version goes at its top"

# debian/changelog: VERSION comes after every release it lists.
source=$(dpkg-parsechangelog -S Source)
top_distribution=$(dpkg-parsechangelog -S Distribution)
last_release=$(sed -n 's/^[a-z0-9][a-z0-9.+-]* (\([^)]*\)) \([^;]*\);.*/\1 \2/p' \
    debian/changelog | awk '$2 != "UNRELEASED" { print $1; exit }')
if [ -n "$last_release" ] \
   && ! dpkg --compare-versions "$debian_version" gt "$last_release"; then
    die "debian/changelog has released $last_release already; $version" \
        "($debian_version) must come after it"
fi

# ------------------------------------------------------ 1. set the version
changed=0
committed=0
restore() {
    if [ "$changed" -eq 1 ] && [ "$committed" -eq 0 ]; then
        git checkout -- configure.ac debian/changelog NEWS.md
        echo "release: configure.ac, debian/changelog and NEWS.md put back as they were" >&2
    fi
}
trap restore EXIT
trap 'exit 1' INT TERM HUP

echo "release: $version (Debian $debian_version), into $out"
changed=1
sed -i "s/^\(AC_INIT(\[[^]]*\], *\[\)[^]]*\(\].*\)$/\1$version\2/" configure.ac
today=$(date -u +%Y-%m-%d)
sed -i "s/^## $(echo "$version" | sed 's/\./\\./g') (unreleased)[[:space:]]*$/## $version ($today)/" NEWS.md
now=$(date -R)
if [ "$top_distribution" = UNRELEASED ]; then
    # The development version's entry becomes the release's: its first line
    # and its date; what it says stays.
    awk -v v="$debian_version" -v now="$now" '
        NR == 1 { sub(/\([^)]*\) UNRELEASED;/, "(" v ") unstable;") }
        !dated && /^ -- / { sub(/>  .*$/, ">  " now); dated = 1 }
        { print }' debian/changelog > debian/changelog.new
else
    maintainer=$(sed -n 's/^Maintainer: //p' debian/control)
    {
        printf '%s (%s) unstable; urgency=medium\n\n' "$source" "$debian_version"
        printf '  * New upstream release (NEWS.md says what it adds, changes and fixes).\n\n'
        printf ' -- %s  %s\n\n' "$maintainer" "$now"
        cat debian/changelog
    } > debian/changelog.new
fi
mv debian/changelog.new debian/changelog
[ "$(dpkg-parsechangelog -S Version)" = "$debian_version" ] \
    || die "debian/changelog could not be set to $debian_version"
OP_BUILDDIR=/nonexistent tests/static/version.sh

mkdir -p "$out/logs"
out=$(cd "$out" && pwd)

# ----------------------------------------------------------------- 2. tests
if [ "$skip_tests" -eq 0 ]; then
    echo "release: scripts/test.sh (CI's tests; about 40 minutes)"
    scripts/test.sh 2>&1 | tee "$out/logs/test.log"
    # tee hides test.sh's status: its last line says whether all passed.
    tail -n 1 "$out/logs/test.log" | grep -qx "test.sh: all tests passed" \
        || die "scripts/test.sh failed (log: $out/logs/test.log)"
else
    echo "SKIPPED: scripts/test.sh was not run (--skip-tests)" \
        > "$out/logs/test.log"
fi

# ----------------------------------------------------- 3. the tarball
echo "release: make distcheck"
rm -f "$tarball"
{
    autoreconf -fi && ./configure --enable-werror && make -j"$(nproc)" \
    && tests/static/version.sh \
    && make distcheck OP_PYTEST_ARGS="-q -k test_mapping" \
        TESTS="tests/static/cppcheck.sh tests/static/layering.sh tests/static/version.sh tests/unit/unit_tests tests/e2e/run_e2e"
} > "$out/logs/distcheck.log" 2>&1 || {
    tail -n 60 "$out/logs/distcheck.log" >&2
    die "make distcheck failed (log: $out/logs/distcheck.log)"
}
[ -f "$tarball" ] || die "make distcheck made no $tarball"
tests/static/dist_contents.sh "$tarball"
cp "$tarball" "$out/"

# ------------------------------------------------------ 4. the Debian package
echo "release: the Debian package"
scripts/build-deb.sh --tarball "$out/$tarball" --out "$out/deb" 2>&1 \
    | tee "$out/logs/build-deb.log"
ls "$out"/deb/*_"$debian_version"_*.deb > /dev/null 2>&1 \
    || die "scripts/build-deb.sh failed (log: $out/logs/build-deb.log)"

# ------------------------------------------------------------ 5. checksums
(cd "$out" && sha256sum "$tarball" deb/* > SHA256SUMS)

# ---------------------------------------------------- 6. commit and tag
if [ "$skip_tests" -eq 1 ]; then
    {
        echo "mod_orthanc_proxy $version, made by scripts/release.sh --skip-tests"
        echo "on $(date -u '+%Y-%m-%d %H:%M UTC') from $(git rev-parse HEAD) with its version"
        echo "files changed: scripts/test.sh was NOT run.  A rehearsal: never publish these."
    } > "$out/UNTESTED"
    echo "release: made in $out:"
    (cd "$out" && cat SHA256SUMS)
    warn_untested
    exit 0
fi
git add configure.ac debian/changelog NEWS.md
git commit -q -m "Release $version

configure.ac, debian/changelog ($debian_version) and NEWS.md; made and
tested by scripts/release.sh: $tarball
$(grep " $tarball\$" "$out/SHA256SUMS" | cut -d' ' -f1)"
committed=1
git tag -a "v$version" -m "mod_orthanc_proxy $version"
echo "release: committed $(git rev-parse --short HEAD) \"Release $version\", tagged v$version"
echo "release: made in $out:"
(cd "$out" && cat SHA256SUMS)
cat <<EOF
release: next, by hand (docs/versions.md, "Releasing"): publish the files of $out,
push the commit and the tag v$version, and open the next version.
EOF
