#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs, from the npm registry, the JavaScript the demo and the browser
# tests use, at pinned versions, into a cache directory outside the
# repository (nothing of it is committed):
#   @ohif/app        the OHIF Viewer, a built application (dist/, ~200 MB)
#   dicomweb-client  a DICOMweb client for the browser (build/*.js)
#   playwright-core  drives Debian's chromium in the browser tests
#
#   scripts/install-js.sh            install what is missing, print the directory
#   scripts/install-js.sh --dir      print the directory only (nothing is fetched)
#   scripts/install-js.sh --check    exit 1 unless everything is installed
#   scripts/install-js.sh --path NAME  print where package NAME is unpacked
#
# Each package is fetched with `npm pack` (the package's own tarball, none
# of its dependencies: the three need none at run time), checked against
# the integrity pinned below, and unpacked into DIR/NAME-VERSION.  A package
# already unpacked there is not fetched again.
#
# DIR is $OP_JS_DIR if set, else /var/cache/mod_orthanc_proxy/js as root,
# else ${XDG_CACHE_HOME:-~/.cache}/mod_orthanc_proxy/js.
set -eu

# name version integrity (sha512, as the registry publishes it)
PACKAGES="
@ohif/app 3.13.2 sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==
dicomweb-client 0.11.3 sha512-7t1Rc/01fyFnKlQeNPW9Pvxvmsx8R/BgB2n7BxTuWirRFwlTC5upEeLeS3vO72P+n6/SQZ3+5ij0bgaWDHQG/A==
playwright-core 1.65.1 sha512-hqPpz7blSMPxWVdoeE1yiBSzXsKiVOd2k+kjCvmUywD2GPO2Dd9HfcWnq9NN0GHbNZDFgZ9JfBFr+X5/BLo0qw==
"

if [ -n "${OP_JS_DIR:-}" ]; then
    DIR=$OP_JS_DIR
elif [ "$(id -u)" -eq 0 ]; then
    DIR=/var/cache/mod_orthanc_proxy/js
else
    DIR=${XDG_CACHE_HOME:-$HOME/.cache}/mod_orthanc_proxy/js
fi

# The directory a package is unpacked into: @ohif/app 3.13.2 -> ohif-app-3.13.2
target_of() {
    printf '%s/%s-%s' "$DIR" "$(printf '%s' "$1" | sed 's|^@||; s|/|-|')" "$2"
}

installed() {
    [ -f "$(target_of "$1" "$2")/.installed" ]
}

all_installed() {
    echo "$PACKAGES" | while read -r name version _; do
        [ -n "$name" ] || continue
        installed "$name" "$version" || exit 1
    done
}

install_one() {
    name=$1 version=$2 integrity=$3
    target=$(target_of "$name" "$version")
    installed "$name" "$version" && return 0
    command -v npm >/dev/null 2>&1 \
        || { echo "install-js: npm is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
    work=$(mktemp -d "$DIR/.fetch.XXXXXX")
    echo "install-js: fetching $name@$version" >&2
    (cd "$work" && npm pack --silent "$name@$version" >/dev/null)
    tarball=$(ls "$work"/*.tgz)
    actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [ "$actual" != "$integrity" ]; then
        echo "install-js: $name@$version: integrity $actual, expected $integrity" >&2
        rm -rf "$work"
        exit 1
    fi
    mkdir "$work/unpacked"
    tar -xzf "$tarball" -C "$work/unpacked" --strip-components=1 --no-same-owner
    # Apache's children (nobody) serve the viewer from here.
    chmod -R a+rX "$work/unpacked"
    rm -rf "$target"
    touch "$work/unpacked/.installed"
    mv "$work/unpacked" "$target"
    rm -rf "$work"
}

path_of() {
    echo "$PACKAGES" | while read -r name version _; do
        if [ "$name" = "$1" ]; then
            target_of "$name" "$version"
            exit 0
        fi
    done
}

case "${1:-}" in
    --dir) echo "$DIR"; exit 0 ;;
    --path)
        found=$(path_of "${2:?--path needs a package name}")
        [ -n "$found" ] || { echo "install-js: no package $2" >&2; exit 2; }
        echo "$found"; exit 0 ;;
    --check) all_installed; exit $? ;;
    "") ;;
    *) sed -n '2,21s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac

mkdir -p "$DIR"
chmod a+rx "$DIR"
echo "$PACKAGES" | while read -r name version integrity; do
    [ -n "$name" ] || continue
    install_one "$name" "$version" "$integrity"
done
echo "$DIR"
