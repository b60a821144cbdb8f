# SPDX-License-Identifier: Apache-2.0
"""The module inside a real Apache under valgrind: every kind of request the
module handles, and no invalid memory access.

Apache runs as a single process (-X) under memcheck; the module allocates
only from APR pools, so what matters here is invalid reads and writes and
uses of uninitialised memory, not Apache's own still-reachable blocks.
"""

import json
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


def test_no_invalid_memory_access_with_the_audit_trail(orthanc, make_apache,
                                                       workdir):
    """The same, with the audit trail on: records, a deletion attributed
    before it is forwarded (libcurl in the child), answers and bodies kept,
    a refused bulk deletion; the audit program runs under memcheck too."""
    build = os.environ.get("OP_BUILDDIR") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")
    program = os.path.join(build, "support", "orthanc-proxy-audit")
    program_log = os.path.join(workdir, "valgrind-program.log")
    wrapper = os.path.join(workdir, "audit-under-valgrind")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec {VALGRIND} --tool=memcheck --track-origins=yes "
                f"--log-file={program_log} {program} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    json_path = os.path.join(workdir, "audit.json")
    apache = make_apache(f"""
OrthancProxy /orthanc/ {orthanc.url}/ timeout=120
OrthancProxyAuditProgram {wrapper}
OrthancProxyAuditLog {json_path}
OrthancProxyAuditWindow 1 5
<Location /orthanc/tools/find>
    LimitRequestBody 10000
</Location>
""", start=False)
    log_path = os.path.join(workdir, "valgrind.log")
    proc = start_under_valgrind(apache, log_path)
    try:
        exercise(apache.url, apache.port, orthanc)
        url = apache.url + "/orthanc"
        study = requests.get(url + "/studies", timeout=60).json()[0]
        assert requests.post(url + "/tools/find", json={
            "Level": "Study", "Query": {"PatientID": "*"}},
            timeout=60).status_code == 200
        assert requests.post(f"{url}/studies/{study}/anonymize", json={},
                             timeout=120).status_code == 200
        assert requests.post(url + "/tools/bulk-delete", json={
            "Resources": [study]}, timeout=60).status_code == 403
        assert requests.delete(f"{url}/studies/{study}",
                               timeout=120).status_code == 200
        with open(os.path.join(SAMPLE_DIR, "CT_small.dcm"), "rb") as f:
            assert requests.post(url + "/instances", data=f.read(),
                                 timeout=120).status_code == 200
    finally:
        stop_under_valgrind(proc)
    assert_no_memcheck_errors(log_path)
    wait_until(lambda: os.path.exists(program_log) and "ERROR SUMMARY"
               in open(program_log).read(), 120, what="the program to end")
    assert_no_memcheck_errors(program_log)
    with open(json_path) as f:
        events = {json.loads(line)["event"] for line in f}
    assert {"deletion", "modification", "query", "import",
            "security-alert"} <= events, events
