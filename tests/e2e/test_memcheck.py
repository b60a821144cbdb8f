# SPDX-License-Identifier: Apache-2.0
"""The module inside a real Apache under valgrind: every kind of request the
module handles, and no invalid memory access.

Apache runs as a single process (-X) under memcheck; the module allocates
only from APR pools, so what matters here is invalid reads and writes and
uses of uninitialised memory, not Apache's own still-reachable blocks.
"""

import os
import re
import shutil
import signal
import subprocess

import pytest
import requests

from harness import HTTPD, SAMPLE_DIR, SANITIZER_PRELOAD, port_open, \
    raw_request, status_of, wait_until

# Shared with the other valgrind tests (test_cache.py).
not_when_sanitized = pytest.mark.skipif(
    bool(SANITIZER_PRELOAD), reason="valgrind cannot run the ASan-instrumented "
    "module; the sanitized suite checks the same requests")
pytestmark = not_when_sanitized

VALGRIND = shutil.which("valgrind") or "/usr/bin/valgrind"
SUPPRESSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "httpd-exit.supp")


def start_under_valgrind(apache, log_path):
    proc = subprocess.Popen(
        [VALGRIND, "--tool=memcheck", "--trace-children=no",
         "--track-origins=yes", "--num-callers=30", f"--log-file={log_path}",
         f"--suppressions={SUPPRESSIONS}",
         HTTPD, "-X", "-f", apache.config_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        cwd=apache.workdir)
    wait_until(lambda: proc.poll() is None and port_open(apache.port),
               timeout=120, what="httpd under valgrind to listen")
    return proc


def stop_under_valgrind(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=300)


def assert_no_memcheck_errors(log_path):
    with open(log_path) as f:
        log = f.read()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", log)
    assert summary, log[-2000:]
    assert summary.group(1) == "0", log


def exercise(url, port, orthanc):
    with open(os.path.join(SAMPLE_DIR, "CT_small.dcm"), "rb") as f:
        dicom = f.read()
    assert requests.post(url + "/orthanc/instances", data=dicom,
                         timeout=120).status_code == 200
    assert requests.get(url + "/orthanc/patients", timeout=60).status_code == 200
    assert requests.head(url + "/orthanc/system", timeout=60).status_code == 200
    assert requests.get(url + "/orthanc", allow_redirects=False,
                        timeout=60).status_code == 301
    assert requests.put(url + "/orthanc/tools/log-level", data="verbose",
                        timeout=60).status_code == 403
    assert requests.get(url + "/orthanc/system?_method=patch",
                        timeout=60).status_code == 400
    assert status_of(raw_request(port, b"GET /orthanc/a%00b HTTP/1.1\r\n"
                                       b"Host: x\r\nConnection: close\r\n\r\n",
                                 timeout=60)) == 400
    chunks = (b"x" * 4096 for _ in range(5))
    assert requests.post(url + "/orthanc/tools/find", data=chunks,
                         timeout=120).status_code == 413
    orthanc.stop()
    assert requests.get(url + "/orthanc/system", timeout=60).status_code == 503
    orthanc.start()
    assert requests.get(url + "/orthanc/system", timeout=60).status_code == 200


def test_no_invalid_memory_access(orthanc, make_apache, workdir):
    apache = make_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/ timeout=120
OrthancProxyCredentials proxy unused-by-this-orthanc
OrthancProxyUserHeader X-Remote-User
<Location /orthanc/tools/find>
    LimitRequestBody 10000
</Location>
""", start=False)
    log_path = os.path.join(workdir, "valgrind.log")
    proc = start_under_valgrind(apache, log_path)
    try:
        exercise(apache.url, apache.port, orthanc)
    finally:
        stop_under_valgrind(proc)
    assert_no_memcheck_errors(log_path)
