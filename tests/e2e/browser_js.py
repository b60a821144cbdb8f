# SPDX-License-Identifier: Apache-2.0
"""JavaScript for the browser tests: the npm packages scripts/install-js.sh
keeps in a cache outside the repository, and node scripts (tests/e2e/browser)
that drive Debian's chromium through playwright-core.

The packages are downloaded by the install step (scripts/test.sh and
scripts/demo.sh run scripts/install-js.sh), never by a test: a test that
finds them missing fails and says which command installs them.
"""

import json
import os
import shutil
import subprocess

import pytest

from harness import CHROMIUM, SRCDIR

INSTALL_JS = os.path.join(SRCDIR, "scripts", "install-js.sh")
BROWSER_DIR = os.path.join(SRCDIR, "tests", "e2e", "browser")
NODE = shutil.which("node")


def package_path(name):
    """Where scripts/install-js.sh unpacked the npm package NAME."""
    if subprocess.run([INSTALL_JS, "--check"]).returncode != 0:
        pytest.fail("the npm packages of the browser tests are not installed: "
                    "run scripts/install-js.sh (scripts/test.sh does)")
    return subprocess.run([INSTALL_JS, "--path", name], capture_output=True,
                          text=True, check=True).stdout.strip()


def run_node(script, args, workdir, timeout=300, env=None):
    """Runs tests/e2e/browser/SCRIPT with ARGS (and ENV added to the
    environment); its last output line, JSON."""
    assert NODE, "needs node and npm: scripts/install-deps.sh installs them"
    assert CHROMIUM, "needs Debian's chromium: scripts/install-deps.sh installs it"
    env = dict(os.environ, OP_PLAYWRIGHT_CORE=package_path("playwright-core"),
               OP_CHROMIUM=CHROMIUM, HOME=workdir, **(env or {}))
    done = subprocess.run([NODE, os.path.join(BROWSER_DIR, script), *args],
                          capture_output=True, text=True, timeout=timeout,
                          cwd=workdir, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    return json.loads(lines[-1])


def artifact_dir():
    """Where screenshots are kept after the test's temporary directory is
    gone: $OP_ARTIFACTS, else test-artifacts/ in the build directory."""
    path = os.environ.get("OP_ARTIFACTS") or os.path.join(
        os.environ.get("OP_BUILDDIR", SRCDIR), "test-artifacts")
    os.makedirs(path, exist_ok=True)
    return path


def keep(path, name):
    """Copies PATH to the artifact directory as NAME; prints and returns
    where it is."""
    target = os.path.join(artifact_dir(), name)
    shutil.copyfile(path, target)
    print(f"\nartifact: {target}")
    return target
