#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The manual's relative links and #anchors lead somewhere (README.md,
# docs/*.md, bench/README.md, NEWS.md); doc_links.py says how they are read.
set -eu
: "${OP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
python=${OP_PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
    echo "doc_links: no $python to run doc_links.py (skipped)"
    exit 77
fi
exec "$python" "$OP_SRCDIR/tests/static/doc_links.py" "$OP_SRCDIR"
