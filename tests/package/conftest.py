# SPDX-License-Identifier: Apache-2.0
"""Fixtures of the package test: the built .deb, a throwaway Debian root,
a real Orthanc on the machine, and a guard that the machine's own Apache
configuration and dpkg database are the same after the tests as before."""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

from harness import Orthanc  # noqa: E402
from throwaway_root import DebianRoot, pristine_root  # noqa: E402

PACKAGE = "libapache2-mod-orthanc-proxy"


@pytest.fixture(scope="session")
def deb():
    """The .deb scripts/build-deb.sh built (OP_DEB_DIR, see run_package_test)."""
    directory = os.environ.get("OP_DEB_DIR")
    if not directory:
        pytest.fail("OP_DEB_DIR is not set: run tests/package/run_package_test")
    found = glob.glob(os.path.join(directory, f"{PACKAGE}_*.deb"))
    assert len(found) == 1, f"expected one {PACKAGE} .deb in {directory}: {found}"
    return found[0]


def host_state():
    """What the tests must not change on the machine: /etc/apache2 (paths,
    link targets, contents) and what dpkg knows of the package."""
    state = {}
    for directory, subdirs, files in os.walk("/etc/apache2"):
        for name in sorted(subdirs + files):
            full = os.path.join(directory, name)
            if os.path.islink(full):
                state[full] = "-> " + os.readlink(full)
            elif os.path.isfile(full):
                with open(full, "rb") as f:
                    state[full] = hashlib.sha256(f.read()).hexdigest()
            else:
                state[full] = "dir"
    r = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}",
                        PACKAGE], capture_output=True, text=True)
    state["dpkg-query " + PACKAGE] = (r.returncode, r.stdout)
    return state


@pytest.fixture(scope="session", autouse=True)
def machine_unchanged():
    before = host_state()
    yield
    after = host_state()
    changed = sorted(k for k in set(before) | set(after)
                     if before.get(k) != after.get(k))
    assert not changed, f"the tests changed the machine: {changed}"


@pytest.fixture(scope="session")
def base_dir():
    path = tempfile.mkdtemp(prefix="orthanc-proxy-package-")
    os.chmod(path, 0o755)
    yield path
    if not os.environ.get("OP_KEEP_TMP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def cached_root():
    """Builds the cached root once per session if it is missing."""
    return pristine_root()


@pytest.fixture
def root(cached_root, base_dir, request):
    parent = os.path.join(base_dir, request.node.name)
    os.makedirs(parent)
    debian_root = DebianRoot(parent)
    yield debian_root
    if not os.environ.get("OP_KEEP_TMP"):
        debian_root.remove()


@pytest.fixture(scope="session")
def orthanc(base_dir):
    server = Orthanc(base_dir, dicomweb=False)
    server.start()
    yield server
    server.stop()
