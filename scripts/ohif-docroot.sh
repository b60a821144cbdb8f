#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Lays the OHIF Viewer out in an Apache document root, beside what is there
# (the demo's own application), for the demo and the browser tests:
#
#   scripts/ohif-docroot.sh DOCROOT
#
# The OHIF build (npm @ohif/app, installed by scripts/install-js.sh) loads
# its files from absolute paths at the root of the site ("/app-config.js",
# "/app.bundle.*.js", "/assets/..."), so they are linked into DOCROOT; its
# index.html goes to DOCROOT/ohif/, the viewer's own routes
# (routerBasename /ohif in demo/ohif/app-config.js).  Apache then needs:
#
#   <Directory DOCROOT/ohif>
#       FallbackResource /ohif/index.html
#   </Directory>
#
# so that /ohif/viewer?StudyInstanceUIDs=... is answered by the viewer.
# DOCROOT/app-config.js is demo/ohif/app-config.js (Orthanc's DICOMweb at
# /orthanc/dicom-web, same origin).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
docroot=${1:?usage: scripts/ohif-docroot.sh DOCROOT}

if ! "$ROOT/scripts/install-js.sh" --check; then
    echo "ohif-docroot: the OHIF Viewer is not installed; run scripts/install-js.sh" >&2
    exit 1
fi
dist="$("$ROOT/scripts/install-js.sh" --path @ohif/app)/dist"

mkdir -p "$docroot/ohif"
for entry in "$dist"/* "$dist"/_headers "$dist"/_redirects; do
    [ -e "$entry" ] || continue
    name=$(basename "$entry")
    case $name in
        # Ours, or of no use behind Apache (Netlify's files).
        index.html|app-config.js|_headers|_redirects|serve.json) continue ;;
    esac
    if [ -e "$docroot/$name" ] && [ ! -L "$docroot/$name" ]; then
        echo "ohif-docroot: $docroot/$name exists; OHIF's $name would replace it" >&2
        exit 1
    fi
    ln -sfn "$entry" "$docroot/$name"
done
cp "$dist/index.html" "$docroot/ohif/index.html"
cp "$ROOT/demo/ohif/app-config.js" "$docroot/app-config.js"
chmod -R a+rX "$docroot/ohif" "$docroot/app-config.js"
