# SPDX-License-Identifier: Apache-2.0
"""Debian roots made once with mmdebstrap and cached outside the source tree.

The package test installs the module's .deb into one (tests/package/); the
Orthanc version matrix runs the Orthancs of newer Debian releases from
others (orthanc_roots.py).  A root is built when missing or when its recipe
changes (the recipe's hash is in the directory name), under a lock that
concurrent test runs share; it appears under its final name only once
complete, so an interrupted build leaves nothing half made.
"""

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile


def cache_dir():
    """OP_PACKAGE_ROOT_CACHE, else ~/.cache/mod_orthanc_proxy (or under
    XDG_CACHE_HOME)."""
    base = os.environ.get("OP_PACKAGE_ROOT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
        "mod_orthanc_proxy")
    os.makedirs(base, exist_ok=True)
    return base


def cached_root(name, recipe, mmdebstrap_args, finish=None, log=print):
    """The root NAME built by `mmdebstrap MMDEBSTRAP_ARGS... TARGET` (TARGET
    is appended where the list holds None), then FINISH(target) if given.
    RECIPE (a string) names everything that shapes the result."""
    base = cache_dir()
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    path = os.path.join(base, f"{name}-{digest}")
    with open(os.path.join(base, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.isdir(path):
            return path
        building = tempfile.mkdtemp(prefix=".building-", dir=base)
        target = os.path.join(building, "root")
        log(f"debian_roots: building {path} with mmdebstrap (once)")
        command = ["mmdebstrap"] + [target if a is None else a
                                    for a in mmdebstrap_args]
        try:
            result = subprocess.run(command, capture_output=True, text=True,
                                    timeout=1800)
            if result.returncode != 0:
                raise RuntimeError("mmdebstrap failed:\n" + result.stdout
                                   + result.stderr)
            if finish:
                finish(target)
            os.rename(target, path)
        finally:
            shutil.rmtree(building, ignore_errors=True)
        return path
