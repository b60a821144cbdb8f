#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# docs/directives.md documents every directive of the command table with
# the syntax, context and default the code has (directive_docs.py says how).
set -eu
: "${OP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
python=${OP_PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
    echo "directive_docs: no $python to run directive_docs.py (skipped)"
    exit 77
fi
exec "$python" "$OP_SRCDIR/tests/static/directive_docs.py" "$OP_SRCDIR"
