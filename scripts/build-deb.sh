#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package libapache2-mod-orthanc-proxy from a copy of this
# repository, then checks it with lintian.  The source tree is left as it was.
#
#   scripts/build-deb.sh [--tarball mod_orthanc_proxy-X.tar.gz] [--out DIR]
#
# The package is built the Debian way for a non-native package: the upstream
# release tarball (`make dist`; --tarball gives one already made, else it is
# made from a copy of the working tree) becomes mod-orthanc-proxy_X.orig.tar.gz,
# debian/ is added to its unpacked copy and `dpkg-buildpackage -us -uc` builds
# the source package and the .deb.  lintian must report no error and no
# warning (there is no override; one would say why beside it in debian/).
# The results (.deb, .dsc, .changes ...) go to DIR (default: the directory
# above the source tree, where dpkg-buildpackage puts them).
# Build dependencies: scripts/install-deps.sh installs them.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tarball=""
out=$(dirname "$top")
while [ $# -gt 0 ]; do
    case "$1" in
        --tarball) tarball=$(realpath "$2"); shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "usage: $0 [--tarball FILE] [--out DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in dpkg-buildpackage dh dh_apache2 lintian autoreconf; do
    if ! command -v "$tool" > /dev/null; then
        echo "build-deb: $tool is missing: run scripts/install-deps.sh" >&2
        exit 1
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/build-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ -z "$tarball" ]; then
    # The release tarball of the working tree as it is, uncommitted changes
    # included: copy what git tracks or would track, configure the copy,
    # make dist there.
    echo "build-deb: making the release tarball from a copy of $top"
    mkdir "$work/tree"
    # shellcheck disable=SC2016
    (cd "$top" && git ls-files -z --cached --others --exclude-standard \
        | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
        | tar -cf - --null -T -) | tar -xf - -C "$work/tree"
    (cd "$work/tree" && autoreconf -fi && ./configure && make dist) \
        > "$work/dist.log" 2>&1 || {
        tail -n 50 "$work/dist.log" >&2
        echo "build-deb: make dist failed (log above)" >&2
        exit 1
    }
    tarball=$(ls "$work"/tree/mod_orthanc_proxy-*.tar.gz)
fi

# The tarball's version is SemVer's (1.0.0, 1.0.0-rc1, 1.0.0-dev); Debian
# writes the pre-release's '-' as '~' (1.0.0~rc1), which sorts before the
# release (docs/versions.md, "Versions").
release=$(basename "$tarball" .tar.gz)
release=${release#mod_orthanc_proxy-}
upstream=$(echo "$release" | sed 's/-/~/')
source=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Source)
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
if [ "${version%-*}" != "$upstream" ]; then
    echo "build-deb: debian/changelog is at $version but the tarball is" \
         "$release: add a changelog entry (dch -v $upstream-1)" >&2
    exit 1
fi

cp "$tarball" "$work/${source}_$upstream.orig.tar.gz"
mkdir "$work/$source-$upstream"
tar -xzf "$tarball" -C "$work/$source-$upstream" --strip-components=1
cp -R "$top/debian" "$work/$source-$upstream/debian"

echo "build-deb: dpkg-buildpackage -us -uc ($source $version)"
case "${DEB_BUILD_OPTIONS:-}" in
    *parallel=*) ;;
    *) DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} parallel=$(nproc)" ;;
esac
export DEB_BUILD_OPTIONS
(cd "$work/$source-$upstream" && dpkg-buildpackage -us -uc) \
    > "$work/build.log" 2>&1 || {
    tail -n 80 "$work/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (log above)" >&2
    exit 1
}

changes="$work/${source}_${version}_$(dpkg-architecture -qDEB_HOST_ARCH).changes"
echo "build-deb: lintian $(basename "$changes")"
status=0
lintian --fail-on error,warning --display-info "$changes" \
    > "$work/lintian.log" 2>&1 || status=$?
# lintian's warning that it runs as root is not about the package.
grep -v "running with root privileges is not recommended" \
    "$work/lintian.log" || echo "build-deb: lintian reports nothing"
if [ "$status" -ne 0 ]; then
    echo "build-deb: lintian reports errors or warnings (exit $status)" >&2
    exit 1
fi

for file in "$work"/*.deb "$work"/*.dsc "$work"/*.changes "$work"/*.buildinfo \
            "$work"/*.tar.*; do
    cp "$file" "$out/"
done
echo "build-deb: built in $out:"
(cd "$out" && ls -1 ./*"${version}"*.deb)
